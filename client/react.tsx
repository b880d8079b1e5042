// Typed React hooks for the gateway, on @tanstack/react-query (queries,
// mutations, caching) and graphql-sse (the turn's stream): the provider and
// query hooks, and useSendMessage, which sends, stops and resumes a turn.
export * from "./react-queries.tsx";
export * from "./react-turn.ts";
