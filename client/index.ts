// The framework-free client: typed requests and subscriptions, the sendMessage
// turn folded into a live message, and every generated document and type.
// React apps import the hooks from client/react.tsx.
export * from "./core.ts";
export * from "./stream.ts";
export * from "./generated/graphql.ts";
