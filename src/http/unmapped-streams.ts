import type { ExecutionResult } from "graphql";

/**
 * Yoga maps every subscription's stream once more before its result
 * processors see it (an identity map whose only work is to mask a thrown
 * error): a promise chain per event. A stream that masks its own errors
 * (jit-stream-events.ts) is kept here by its request, so that the SSE body
 * (event-stream-body.ts) reads it directly.
 */
const streams = new WeakMap<Request, AsyncIterable<ExecutionResult>>();

export function keepUnmapped(request: Request | undefined, stream: AsyncIterable<ExecutionResult>): void {
  if (request) streams.set(request, stream);
}

export function unmappedStream(request: Request): AsyncIterable<ExecutionResult> | undefined {
  return streams.get(request);
}
