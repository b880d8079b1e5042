import { maskError } from "graphql-yoga";
import { log } from "../log.ts";

/** Yoga's message for a masked error (app.ts keeps Yoga's masking, `isDev: false`). */
const MASKED_MESSAGE = "Unexpected error.";

/** An error of a subscription's stream as Yoga's masking leaves it; the original, when masked, is logged. */
export function masked(error: unknown): Error {
  const result = maskError(error, MASKED_MESSAGE, false);
  if (result !== error) log.error("unexpected error in a subscription", { error });
  return result;
}

/** A request given up on (its client gone) or timed out: passed on as it is, never masked. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && (error.name === "AbortError" || error.name === "TimeoutError");
}
