import { ChatSDKError } from "../errors.ts";

// What ioredis rejects a command with while Redis cannot be reached: its retries
// per request used up, the connection closed, the command's timeout passed.
const UNAVAILABLE_MESSAGES = new Set(["Connection is closed.", "Command timed out"]);

/** True when `error` (or what it wraps) says Redis is not answering right now, rather than that a command was wrong. */
export function isRedisUnavailable(error: unknown): boolean {
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 5; depth++) {
    if (e.name === "MaxRetriesPerRequestError" || UNAVAILABLE_MESSAGES.has(e.message)) return true;
    e = (e as { originalError?: unknown }).originalError ?? e.cause;
  }
  return false;
}

/** The refusal a client gets while Redis is not answering (resumes, stops, guest sessions): try again. */
export function redisUnavailable(): ChatSDKError {
  return new ChatSDKError(
    "offline:chat",
    "The service is not answering right now. Please try again in a few seconds.",
    {
      retryable: true,
    },
  );
}
