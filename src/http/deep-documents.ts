import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";

/**
 * A document nested so deeply (a list literal in a list literal, a thousand
 * times over) that graphql-js's recursive parser runs out of stack before
 * graphql-armor's token limit stops it: refused as the syntax error it is
 * (`bad_request:api`, answered as every syntax error is), not a masked 500 with two error-level stack traces
 * in the log for anyone to send.
 */
export function useDeepDocumentRefusal(): Plugin {
  return {
    onParse({ parseFn, setParseFn }) {
      setParseFn((source, options) => {
        try {
          return parseFn(source, options);
        } catch (error) {
          if (!(error instanceof RangeError)) throw error;
          throw new GraphQLError("Syntax Error: the document is nested too deeply.", {
            extensions: { code: "GRAPHQL_PARSE_FAILED" },
          });
        }
      });
    },
  };
}
