import { Readable } from "node:stream";
import { expect } from "vitest";
import { UpstreamError } from "../../src/turn/upstream.ts";
import { UpstreamBody } from "../../src/turn/upstream-body.ts";

/** A web byte stream delivered as undici delivers a response body, ready for readChunks. */
export function upstreamBodyOf(stream: ReadableStream<Uint8Array>): UpstreamBody {
  const body = new UpstreamBody();
  body.attach(Readable.fromWeb(stream as Parameters<typeof Readable.fromWeb>[0]));
  return body;
}

/** The UpstreamError `promise` rejects with; fails the test when it resolves or rejects with anything else. */
export async function upstreamFailure(promise: Promise<unknown>): Promise<UpstreamError> {
  const error = await promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: unknown) => error,
  );
  expect(error).toBeInstanceOf(UpstreamError);
  return error as UpstreamError;
}
