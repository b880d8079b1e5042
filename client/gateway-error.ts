// The error every client call rejects with: GraphQL errors with their Chat SDK
// code, or a network failure (which a cut stream can resume from).
import type { GraphQLFormattedError } from "graphql";
import { NetworkError } from "graphql-sse";

/** GraphQL errors of one operation; `code` is the first error's Chat SDK code (e.g. `rate_limit:chat`). */
export class GatewayError extends Error {
  readonly code: string;
  readonly errors: readonly GraphQLFormattedError[];
  readonly status: number | undefined;
  /**
   * The connection failed or dropped before the gateway answered (no GraphQL
   * error, no 4xx): a stream that was cut this way can be resumed.
   */
  readonly network: boolean;
  /** A network failure, or a refusal the gateway marks `retryable` (Redis or the database not answering for a moment). */
  readonly retryable: boolean;
  /** The first error's `extensions.reason`, where the gateway gives one (e.g. `too_many_running_turns`). */
  readonly reason: string | undefined;

  constructor(errors: readonly GraphQLFormattedError[], status?: number, network = false) {
    const first = errors[0];
    super(first?.message ?? "Request failed.");
    this.name = "GatewayError";
    this.errors = errors;
    this.status = status;
    this.network = network;
    this.retryable = network || first?.extensions?.["retryable"] === true;
    const reason = first?.extensions?.["reason"];
    this.reason = typeof reason === "string" ? reason : undefined;
    const code = first?.extensions?.["code"];
    this.code = typeof code === "string" ? code : codeOfStatus(status);
  }

  static from(error: unknown): GatewayError {
    if (error instanceof GatewayError) return error;
    if (Array.isArray(error)) return new GatewayError(error as GraphQLFormattedError[]);
    const offline = (message: string, status?: number) =>
      new GatewayError(
        [{ message, extensions: { code: codeOfStatus(status) } }],
        status,
        !(status && status >= 400 && status < 500 && status !== 408 && status !== 429),
      );
    if (error instanceof NetworkError) return offline(error.message, error.response?.status);
    // A stream cut mid-way surfaces as a plain Error from graphql-sse's reader.
    return offline(error instanceof Error ? error.message : String(error));
  }
}

/**
 * The Chat SDK code of an answer without one (not the gateway's JSON): a path
 * or method the gateway does not serve is the caller's mistake, not an outage
 * to wait out; anything else (no answer, a proxy's 502) is offline.
 */
function codeOfStatus(status: number | undefined): string {
  if (status === 404 || status === 405 || status === 400 || status === 413 || status === 415) return "bad_request:api";
  if (status === 401) return "unauthorized:chat";
  if (status === 403) return "forbidden:chat";
  if (status === 429) return "rate_limit:chat";
  return "offline:chat";
}
