import { GraphQLError, type ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";

// Extension keys that carry a server's internals: Yoga puts the JSON parser's
// error in `originalError` when a POST body is not JSON, and its masking adds
// `originalError` (with a stack) to unexpected errors when NODE_ENV=development.
const INTERNAL_KEYS = ["originalError", "stacktrace", "stack", "exception"];

/**
 * Drops internals from the errors of every response, in any NODE_ENV: the
 * README promises details are logged, never sent.
 */
export function useNoErrorInternals(): Plugin {
  return {
    onResultProcess({ result, setResult }) {
      if (Array.isArray(result)) setResult(result.map(withoutInternals));
      else if (!(Symbol.asyncIterator in result)) setResult(withoutInternals(result));
    },
  };
}

function withoutInternals<T extends ExecutionResult>(result: T): T {
  if (!result.errors?.some(hasInternals)) return result;
  return { ...result, errors: result.errors.map((error) => (hasInternals(error) ? stripped(error) : error)) };
}

function hasInternals(error: GraphQLError): boolean {
  return INTERNAL_KEYS.some((key) => error.extensions?.[key] !== undefined);
}

function stripped(error: GraphQLError): GraphQLError {
  const extensions: Record<string, unknown> = { ...error.extensions };
  for (const key of INTERNAL_KEYS) delete extensions[key];
  // Yoga answers an application/json request 400 for a body it could not parse
  // only while `originalError` is there to tell it so; without it, `spec`
  // would turn the status into 200.
  const http = extensions["http"] as { spec?: boolean } | undefined;
  if (http?.spec && error.extensions["originalError"] !== undefined) extensions["http"] = { ...http, spec: false };
  return new GraphQLError(error.message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions,
  });
}
