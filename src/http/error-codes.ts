import { GraphQLError, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";

// Codes GraphQL tooling gives a refused document; Chat SDK clients know them as bad_request:api.
const REFUSED_DOCUMENT = new Set([
  "GRAPHQL_PARSE_FAILED",
  "GRAPHQL_VALIDATION_FAILED",
  "BAD_USER_INPUT",
  "BAD_REQUEST",
  // No operation named `operationName`, or several and no `operationName`.
  "OPERATION_RESOLUTION_FAILURE",
]);

/**
 * Gives documents the server refuses (syntax, validation, graphql-armor's
 * limits, which carry no code at all) the `bad_request:api` code, like every
 * other refusal. Masked errors keep their INTERNAL_SERVER_ERROR.
 */
export function useChatSDKErrorCodes(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) setResult(result.map(withCodes));
      else if (!(Symbol.asyncIterator in result)) setResult(withCodes(result));
    },
  };
}

function withCodes<T extends ExecutionResult>(result: T): T {
  if (!result.errors?.some(needsCode)) return result;
  return { ...result, errors: result.errors.map((error) => (needsCode(error) ? refused(error) : error)) };
}

function needsCode(error: GraphQLError): boolean {
  const code = error.extensions?.code;
  return code === undefined || REFUSED_DOCUMENT.has(String(code));
}

// graphql-armor's validation limits read "Syntax Error: Query Cost limit of...", though the
// document parsed: the prefix goes (its token limit, checked while parsing, keeps it).
const ARMOR_LIMIT = /^Syntax Error: (?=(Query Cost|Aliases|Directives|Query depth) limit)/;

// graphql-js gives up validating a document past its budgets (overlapping fields:
// hundreds of one field; fragment spreads) with this alone.
const VALIDATION_ABORTED = "Validation aborted.";
const VALIDATION_ABORTED_SAYS =
  "The document is too complex to validate (repeated fields or fragment spreads); send a smaller one.";

function refused(error: GraphQLError): GraphQLError {
  const message =
    error.message === VALIDATION_ABORTED ? VALIDATION_ABORTED_SAYS : error.message.replace(ARMOR_LIMIT, "");
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: { ...error.extensions, code: "bad_request:api" },
  });
}
