import { asSchema, uiMessageChunkSchema, type UIMessageChunk } from "ai";
import { describe, expect, it, vi } from "vitest";
import { readChunks } from "../src/turn/chunk-stream.ts";
import { chunkSamples } from "./support/chunk-samples.ts";
import { upstreamBodyOf, upstreamFailure } from "./support/upstream-body.ts";

/** A body that sends the given SSE text pieces, then ends or stays open until cancelled. */
function openBody(pieces: string[], { end = true } = {}) {
  const state = { cancelled: false };
  const encoder = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const piece of pieces) controller.enqueue(encoder.encode(piece));
      if (end) controller.close();
    },
    cancel() {
      state.cancelled = true;
    },
  });
  return { body, state };
}

const sse = (value: unknown) => `data: ${typeof value === "string" ? value : JSON.stringify(value)}\n\n`;

async function collect(body: ReadableStream<Uint8Array>, options = { idleTimeoutMs: 1000 }) {
  const chunks: UIMessageChunk[] = [];
  for await (const chunk of readChunks(upstreamBodyOf(body), options)) chunks.push(chunk);
  return chunks;
}

describe("readChunks", () => {
  it("yields validated chunks and stops at [DONE]", async () => {
    const { body } = openBody([sse({ type: "start" }), ": keep-alive\n\n", sse({ type: "finish" }), sse("[DONE]")]);
    expect(await collect(body)).toEqual([{ type: "start" }, { type: "finish" }]);
  });

  it("yields every chunk the ai schema accepts as the schema gives it, its keys in the same order", async () => {
    const full = asSchema(uiMessageChunkSchema);
    let checked = 0;
    for (const sample of chunkSamples) {
      const reference = await full.validate!(sample);
      if (!reference.success) continue;
      const { body } = openBody([sse(sample)]);
      const [chunk] = await collect(body);
      expect(chunk).toStrictEqual(reference.value);
      expect(JSON.stringify(chunk)).toBe(JSON.stringify(reference.value));
      checked++;
    }
    expect(checked).toBeGreaterThan(20);
  });

  it("copes with chunks split across network reads", async () => {
    const text = sse({ type: "text-delta", id: "t", delta: "héllo" });
    const bytes = new TextEncoder().encode(text);
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const byte of bytes) controller.enqueue(Uint8Array.of(byte));
        controller.close();
      },
    });
    expect(await collect(body)).toEqual([{ type: "text-delta", id: "t", delta: "héllo" }]);
  });

  it("skips chunk types it does not know", async () => {
    const { body } = openBody([
      sse({ type: "future-thing" }),
      sse({ type: "future-thing", with: { anything: [1] } }),
      sse({ type: "text-start", id: "t" }),
    ]);
    expect(await collect(body)).toEqual([{ type: "text-start", id: "t" }]);
  });

  it("keeps unknown fields of known chunks", async () => {
    const { body } = openBody([sse({ type: "start-step", stepNumber: 2 })]);
    expect(await collect(body)).toEqual([{ type: "start-step", stepNumber: 2 }]);
  });

  it("passes a finish reason newer than this ai version", async () => {
    const { body } = openBody([sse({ type: "finish", finishReason: "paused", messageMetadata: { a: 1 } })]);
    expect(await collect(body)).toEqual([{ type: "finish", finishReason: "paused", messageMetadata: { a: 1 } }]);
  });

  it("fails on malformed JSON and cancels the body", async () => {
    const { body, state } = openBody([sse({ type: "start" }), "data: {not json\n\n"], { end: false });
    const error = await upstreamFailure(collect(body));
    expect(error).toMatchObject({ code: "offline:chat", kind: "malformed" });
    expect(error.message).toMatch(/malformed chunk from streamer/);
    await vi.waitFor(() => expect(state.cancelled).toBe(true));
  });

  it("fails on a known chunk type with invalid fields", async () => {
    const { body } = openBody([sse({ type: "text-delta", id: "t" })]);
    const error = await upstreamFailure(collect(body));
    expect(error).toMatchObject({ code: "offline:chat", kind: "malformed" });
    expect(error.message).toBe('malformed chunk from streamer: invalid "text-delta" chunk');
  });

  it("fails on JSON that is not a chunk", async () => {
    const { body } = openBody([sse(42)]);
    expect(await upstreamFailure(collect(body))).toMatchObject({ kind: "malformed" });
  });

  it("times out when the streamer goes quiet, and cancels the body", async () => {
    const { body, state } = openBody([sse({ type: "start" })], { end: false });
    const seen: UIMessageChunk[] = [];
    const reading = (async () => {
      for await (const chunk of readChunks(upstreamBodyOf(body), { idleTimeoutMs: 50 })) seen.push(chunk);
    })();
    const error = await upstreamFailure(reading);
    expect(error).toMatchObject({
      code: "offline:chat",
      kind: "idle-timeout",
      message: "streamer sent nothing for 50 ms",
    });
    expect(seen).toEqual([{ type: "start" }]);
    await vi.waitFor(() => expect(state.cancelled).toBe(true));
  });

  it("counts keep-alive comments as activity", async () => {
    const encoder = new TextEncoder();
    let timer: NodeJS.Timeout | undefined;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let beats = 0;
        timer = setInterval(() => {
          beats += 1;
          if (beats < 6) controller.enqueue(encoder.encode(": keep-alive\n\n"));
          else {
            clearInterval(timer);
            controller.enqueue(encoder.encode(sse({ type: "finish" })));
            controller.close();
          }
        }, 20);
      },
    });
    expect(await collect(body, { idleTimeoutMs: 60 })).toEqual([{ type: "finish" }]);
  });

  it("stops with the signal's reason when aborted, and cancels the body", async () => {
    const { body, state } = openBody([sse({ type: "start" })], { end: false });
    const controller = new AbortController();
    const seen: UIMessageChunk[] = [];
    const reading = (async () => {
      for await (const chunk of readChunks(upstreamBodyOf(body), { idleTimeoutMs: 5000, signal: controller.signal })) {
        seen.push(chunk);
        setTimeout(() => controller.abort(new Error("user stopped")), 10);
      }
    })();
    await expect(reading).rejects.toThrow("user stopped");
    expect(seen).toEqual([{ type: "start" }]);
    await vi.waitFor(() => expect(state.cancelled).toBe(true));
  });

  it("cancels the body when the reader stops early", async () => {
    const { body, state } = openBody([sse({ type: "start" }), sse({ type: "start-step" })], { end: false });
    for await (const chunk of readChunks(upstreamBodyOf(body), { idleTimeoutMs: 5000 })) {
      expect(chunk).toEqual({ type: "start" });
      break;
    }
    await vi.waitFor(() => expect(state.cancelled).toBe(true));
  });

  it("reports a broken body as a lost connection", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(sse({ type: "start" })));
        setTimeout(() => controller.error(new Error("socket hang up")), 10);
      },
    });
    const error = await upstreamFailure(collect(body));
    expect(error).toMatchObject({ code: "offline:chat", kind: "connection-lost" });
    expect(error.message).toBe("connection to the streamer was lost: socket hang up");
  });
});
