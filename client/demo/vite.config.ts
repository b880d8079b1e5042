import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The demo page: `npm run build:demo` writes dist/demo, which the gateway serves
// at / (npm install runs it). `npm run demo:dev` serves it with hot reload on
// :5173, proxying /graphql to a gateway on :4000 (`npm start`).
const root = import.meta.dirname;

export default defineConfig({
  root,
  base: "/",
  plugins: [react()],
  logLevel: "warn",
  build: {
    outDir: `${root}/../../dist/demo`,
    emptyOutDir: true,
    sourcemap: true,
  },
  server: {
    proxy: { "/graphql": { target: process.env.GATEWAY_URL ?? "http://localhost:4000", changeOrigin: true } },
  },
});
