import type { Plugin } from "graphql-yoga";

const OPERATION_TYPES = new Set(["query", "mutation", "subscription"]);

/**
 * Drops the body keys that well-known clients add beside the GraphQL-over-HTTP
 * ones, which Yoga would refuse (400 Unexpected parameter): `operationType`,
 * which Apollo Client 4 puts on every operation and links that send the
 * operation as it is (graphql-sse's Apollo recipe) pass on. Only its known
 * values are dropped; anything else is still refused.
 */
export function useKnownClientParams(): Plugin {
  return {
    onRequestParse() {
      return {
        onRequestParseDone({ requestParserResult, setRequestParserResult }) {
          if (Array.isArray(requestParserResult)) setRequestParserResult(requestParserResult.map(withoutKnownKeys));
          else setRequestParserResult(withoutKnownKeys(requestParserResult));
        },
      };
    },
  };
}

function withoutKnownKeys<T>(params: T): T {
  if (typeof params !== "object" || params === null || !("operationType" in params)) return params;
  const { operationType, ...rest } = params as Record<string, unknown>;
  return typeof operationType === "string" && OPERATION_TYPES.has(operationType) ? (rest as T) : params;
}
