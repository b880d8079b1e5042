// The framework-free client: typed requests and subscriptions, a turn's stream
// folded into a live message (sent, or resumed after a reload or a dropped
// connection), and every generated document and type. React apps import the
// hooks from client/react.tsx.
export * from "./core.ts";
export * from "./stream.ts";
export * from "./turn.ts";
export * from "./generated/graphql.ts";
// The AI SDK's ChatTransport for useChat (types only from `ai`).
export * from "./ai-sdk-chunks.ts";
export * from "./ai-sdk-transport.ts";
export * from "./ai-sdk-messages.ts";
export * from "./ai-sdk-ids.ts";
