import { GraphQLError, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";

// graphql-js ends a message with a suggestion: ` Did you mean "title"?`,
// ` Did you mean the enum value "PUBLIC"?`, ` Did you mean "a", "b", or "c"?`.
const SUGGESTION = /\s*Did you mean [^?]*\?/g;
const hasSuggestion = (error: GraphQLError) => error.message.includes("Did you mean ");

/**
 * Drops "Did you mean …?" from every error a client gets, so that guessing
 * names cannot map a schema whose introspection is off (FIELD_SUGGESTIONS).
 * GraphQL Armor's block-field-suggestions covers validation errors only and
 * misses enum values; variables' errors (`Field "titel" is not defined by type
 * "CreateChatInput". Did you mean "title"?`) come later, so this works on results.
 */
export function useNoSuggestions(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) setResult(result.map(withoutSuggestions));
      else if (!(Symbol.asyncIterator in result)) setResult(withoutSuggestions(result));
    },
  };
}

function withoutSuggestions<T extends ExecutionResult>(result: T): T {
  if (!result.errors?.some(hasSuggestion)) return result;
  return { ...result, errors: result.errors.map(withoutSuggestion) };
}

function withoutSuggestion(error: GraphQLError): GraphQLError {
  const message = error.message.replace(SUGGESTION, "");
  if (message === error.message) return error;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    originalError: error.originalError,
    extensions: error.extensions,
  });
}
