import { Readable } from "node:stream";
import { UpstreamBody } from "../../src/turn/upstream-body.ts";

/** A web byte stream delivered as undici delivers a response body, ready for readChunks. */
export function upstreamBodyOf(stream: ReadableStream<Uint8Array>): UpstreamBody {
  const body = new UpstreamBody();
  body.attach(Readable.fromWeb(stream as Parameters<typeof Readable.fromWeb>[0]));
  return body;
}
