import { getOperationAST, Kind, type DocumentNode } from "graphql";
import { createGraphQLError, type Plugin } from "graphql-yoga";

// Subscriptions that write: a turn stores the user's message and spends quota.
const WRITING_SUBSCRIPTIONS = new Set(["sendMessage"]);

/**
 * Refuses `sendMessage` over GET with 405, as Yoga refuses mutations there: a
 * GET is meant to change nothing, and its query string (the user's message)
 * lands in proxies' and servers' access logs. resumeStream, which only
 * reads, stays open to GET (an EventSource can only send GET).
 */
export function useNoWritesOverGet(): Plugin {
  return {
    onParse() {
      return ({ result, context }) => {
        const { request, params } = context as { request?: Request; params?: { operationName?: string } };
        if (request?.method !== "GET" || result instanceof Error || !result) return;
        const operation = getOperationAST(result as DocumentNode, params?.operationName);
        if (operation?.operation !== "subscription") return;
        const writes = operation.selectionSet.selections.some(
          (selection) => selection.kind === Kind.FIELD && WRITING_SUBSCRIPTIONS.has(selection.name.value),
        );
        if (!writes) return;
        throw createGraphQLError("sendMessage stores a message: send it as a POST.", {
          extensions: { code: "bad_request:api", http: { status: 405, headers: { Allow: "POST" } } },
        });
      };
    },
  };
}
