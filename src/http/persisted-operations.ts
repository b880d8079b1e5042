import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import type { Plugin } from "graphql-yoga";

// PERSISTED_OPERATIONS_ONLY=true: /graphql runs only the operations codegen
// wrote to client/generated/persisted-documents.json (`npm run codegen`), named
// by their hash; any query text is refused. Clients send
//   { "operationName": "Me", "variables": {...},
//     "extensions": { "persistedQuery": { "version": 1, "sha256Hash": "sha256:…" } } }
// (the hash is the key in that file, the `__meta__.hash` of each generated
// document; the bare hex is accepted too) or `documentId` in its place, as the
// GraphQL-over-HTTP persisted documents proposal spells it. Subscriptions over
// SSE on /graphql are covered like any request.
//
// graphql-sse's single-connection mode (/graphql/stream) runs each operation as
// a request to /graphql, so this applies there too.
export const PERSISTED_DOCUMENTS_FILE = fileURLToPath(
  new URL("../../client/generated/persisted-documents.json", import.meta.url),
);

const HASH_PREFIX = "sha256:";

export function loadPersistedDocuments(file = PERSISTED_DOCUMENTS_FILE): Map<string, string> {
  const documents = JSON.parse(readFileSync(file, "utf8")) as Record<string, string>;
  return new Map(Object.entries(documents));
}

function persistedIdOf(
  params: { extensions?: Record<string, unknown> | null } & Record<string, unknown>,
): string | null {
  if (typeof params["documentId"] === "string") return params["documentId"];
  const persisted = params.extensions?.["persistedQuery"] as { version?: unknown; sha256Hash?: unknown } | undefined;
  return persisted?.version === 1 && typeof persisted.sha256Hash === "string" ? persisted.sha256Hash : null;
}

export function usePersistedOperationsOnly(documents: Map<string, string> = loadPersistedDocuments()): Plugin {
  return usePersistedOperations({
    allowArbitraryOperations: false,
    extractPersistedOperationId: (params) => persistedIdOf(params as Parameters<typeof persistedIdOf>[0]),
    getPersistedOperation: (id) => documents.get(id) ?? documents.get(`${HASH_PREFIX}${id}`) ?? null,
    customErrors: {
      persistedQueryOnly: {
        message: "This gateway runs persisted operations only: send the document's hash, not its text.",
        extensions: { code: "bad_request:api" },
      },
      keyNotFound: {
        message: "Send a persisted document's hash in extensions.persistedQuery.sha256Hash (or documentId).",
        extensions: { code: "bad_request:api" },
      },
      notFound: {
        message: "Unknown persisted operation: regenerate the client (npm run codegen) and restart the gateway.",
        extensions: { code: "bad_request:api" },
      },
    },
  });
}
