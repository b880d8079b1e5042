import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { GatewayProvider } from "../react.tsx";
import { App } from "./App.tsx";
import { pageSetting } from "./page-settings.ts";

// The gateway marks the page when it accepts persisted operations only.
const persisted = pageSetting("persisted-operations") === "true";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <GatewayProvider url="/graphql" persisted={persisted}>
      <App />
    </GatewayProvider>
  </StrictMode>,
);
