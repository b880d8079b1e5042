import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { GatewayProvider } from "../react.tsx";
import { App } from "./App.tsx";

// The gateway marks the page when it accepts persisted operations only.
const persisted = document.querySelector('meta[name="persisted-operations"]')?.getAttribute("content") === "true";

createRoot(document.getElementById("root")!).render(
  <StrictMode>
    <GatewayProvider url="/graphql" persisted={persisted}>
      <App />
    </GatewayProvider>
  </StrictMode>,
);
