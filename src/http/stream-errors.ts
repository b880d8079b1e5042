import { maskError } from "graphql-yoga";
import { log } from "../log.ts";
import { isRedisUnavailable, redisUnavailable } from "../redis/unavailable.ts";

/** Yoga's message for a masked error (app.ts keeps Yoga's masking, `isDev: false`). */
const MASKED_MESSAGE = "Unexpected error.";

/**
 * An error as the client sees it (Yoga's masking, as app.ts sets it up): a
 * Redis that is not answering is `offline:chat` (try again), anything else
 * unexpected is masked. The original is logged.
 */
export function maskedError(error: unknown, message = MASKED_MESSAGE): Error {
  if (isRedisUnavailable(error)) {
    log.warn("redis did not answer a request", { error });
    return redisUnavailable();
  }
  return maskError(error, message, false);
}

/** An error of a subscription's stream as Yoga's masking leaves it; the original, when masked, is logged. */
export function masked(error: unknown): Error {
  const result = maskedError(error);
  if (result !== error && !isRedisUnavailable(error)) log.error("unexpected error in a subscription", { error });
  return result;
}

/** A request given up on (its client gone) or timed out: passed on as it is, never masked. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && (error.name === "AbortError" || error.name === "TimeoutError");
}
