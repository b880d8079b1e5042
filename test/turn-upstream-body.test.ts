// The streamer's body read event by event (upstream-body.ts + chunk-stream.ts)
// gives what the ai package's own parseJsonEventStream gives for the same
// bytes, however the bytes are cut into reads.
import { parseJsonEventStream, uiMessageChunkSchema, type UIMessageChunk } from "ai";
import { expect, test } from "vitest";
import { readChunks } from "../src/turn/chunk-stream.ts";
import { upstreamBodyOf } from "./support/upstream-body.ts";

const chunks: unknown[] = [
  { type: "start", messageId: "m1" },
  { type: "start-step" },
  { type: "text-start", id: "t" },
  { type: "text-delta", id: "t", delta: "plain" },
  { type: "text-delta", id: "t", delta: "€ ünïcödé 😀 across reads" },
  { type: "text-delta", id: "t", delta: "", extra: "passes through" },
  { type: "text-delta", id: "t", delta: "with metadata", providerMetadata: { p: { k: 1 } } },
  { type: "reasoning-start", id: "r" },
  { type: "reasoning-delta", id: "r", delta: "thinking" },
  { type: "reasoning-end", id: "r" },
  { type: "text-end", id: "t" },
  { type: "finish-step" },
  { type: "finish", finishReason: "stop", messageMetadata: { usage: { inputTokens: 1 } } },
];

/** SSE as streamers write it, with the protocol's corners: comments, CRLF, ids, multi-line data, [DONE]. */
function body(): string {
  const events = chunks.map((chunk, i) => {
    const json = JSON.stringify(chunk);
    if (i === 2) return `: keep-alive\r\nid: 7\r\ndata: ${json}\r\n\r\n`;
    if (i === 5) {
      const comma = json.indexOf(",") + 1;
      return `event: message\ndata: ${json.slice(0, comma)}\ndata: ${json.slice(comma)}\n\n`;
    }
    return `data: ${json}\n\n`;
  });
  return `: start\n\n${events.join("")}data: [DONE]\n\n`;
}

/** The bytes cut every `size` bytes, so events, lines and characters straddle reads. */
function cut(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (let i = 0; i < bytes.length; i += size) controller.enqueue(bytes.slice(i, i + size));
      controller.close();
    },
  });
}

async function byTheAiPackage(stream: ReadableStream<Uint8Array>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const reader = parseJsonEventStream({ stream, schema: uiMessageChunkSchema }).getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    expect(next.value.success).toBe(true);
    if (next.value.success) seen.push(next.value.value);
  }
  return seen;
}

async function byTheGateway(stream: ReadableStream<Uint8Array>): Promise<UIMessageChunk[]> {
  const seen: UIMessageChunk[] = [];
  for await (const chunk of readChunks(upstreamBodyOf(stream), { idleTimeoutMs: 1000 })) seen.push(chunk);
  return seen;
}

test.each([1, 3, 7, 64, 100_000])(
  "reads cut every %i bytes give the ai package's chunks, in its key order",
  async (size) => {
    const bytes = new TextEncoder().encode(body());
    const expected = await byTheAiPackage(cut(bytes, bytes.length));
    expect(expected).toHaveLength(chunks.length);
    const got = await byTheGateway(cut(bytes, size));
    expect(got).toEqual(expected);
    expect(got.map((chunk) => JSON.stringify(chunk))).toEqual(expected.map((chunk) => JSON.stringify(chunk)));
  },
);
