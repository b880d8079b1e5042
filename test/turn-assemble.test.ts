import { createUIMessageStream, JsonToSseTransformStream, type UIMessage, type UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { assembleMessage, interruptedToolError, mergeDeltas } from "../src/turn/assemble.ts";
import { readChunks } from "../src/turn/chunk-stream.ts";
import { libraryFold } from "./support/library-fold.ts";
import { upstreamBodyOf } from "./support/upstream-body.ts";

function sseBody(chunks: UIMessageChunk[]): ReadableStream<Uint8Array> {
  return createUIMessageStream({
    generateId: () => "streamer-msg",
    execute({ writer }) {
      for (const chunk of chunks) writer.write(chunk);
    },
  })
    .pipeThrough(new JsonToSseTransformStream())
    .pipeThrough(new TextEncoderStream());
}

async function bufferedChunks(chunks: UIMessageChunk[]): Promise<UIMessageChunk[]> {
  const buffered: UIMessageChunk[] = [];
  for await (const chunk of readChunks(upstreamBodyOf(sseBody(chunks)), { idleTimeoutMs: 1000 })) buffered.push(chunk);
  return buffered;
}

async function librarySnapshot(chunks: UIMessageChunk[]): Promise<UIMessage> {
  const last = await libraryFold(chunks);
  if (last === undefined) throw new Error("no snapshot");
  return last;
}

const completeTurn: UIMessageChunk[] = [
  { type: "start" },
  { type: "start-step" },
  { type: "reasoning-start", id: "r1" },
  { type: "reasoning-delta", id: "r1", delta: "Lookup first." },
  { type: "reasoning-end", id: "r1" },
  { type: "tool-input-start", toolCallId: "call-1", toolName: "getWeather" },
  { type: "tool-input-delta", toolCallId: "call-1", inputTextDelta: '{"city":"Paris"}' },
  { type: "tool-input-available", toolCallId: "call-1", toolName: "getWeather", input: { city: "Paris" } },
  { type: "tool-output-available", toolCallId: "call-1", output: { celsius: 18 } },
  { type: "finish-step" },
  { type: "start-step" },
  { type: "text-start", id: "t1" },
  { type: "text-delta", id: "t1", delta: "18°C" },
  { type: "text-end", id: "t1" },
  { type: "source-url", sourceId: "s1", url: "https://weather.example/paris" },
  { type: "data-weather", id: "w1", data: { celsius: 18 } },
  { type: "data-status", data: "transient", transient: true },
  { type: "finish-step" },
  { type: "finish", finishReason: "stop", messageMetadata: { usage: { outputTokens: 3 } } },
];

describe("assembleMessage", () => {
  it("matches readUIMessageStream's message, under the gateway's id", async () => {
    const chunks = await bufferedChunks(completeTurn);
    const message = await assembleMessage(chunks, { messageId: "gateway-msg" });
    const expected = await librarySnapshot(chunks);
    expect(expected.id).toBe("streamer-msg");
    expect(message).toEqual({ ...expected, id: "gateway-msg" });
    expect(message.parts.map((part) => part.type)).toEqual([
      "step-start",
      "reasoning",
      "tool-getWeather",
      "step-start",
      "text",
      "source-url",
      "data-weather",
    ]);
  });

  it("gives an id to a stream without a start messageId", async () => {
    const message = await assembleMessage(
      [
        { type: "start" },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "hi" },
        { type: "text-end", id: "t" },
        { type: "finish" },
      ],
      { messageId: "gateway-msg" },
    );
    expect(message).toMatchObject({
      id: "gateway-msg",
      role: "assistant",
      parts: [{ type: "text", text: "hi", state: "done" }],
    });
  });

  it("gives an empty message for no chunks", async () => {
    expect(await assembleMessage([], { messageId: "m" })).toEqual({ id: "m", role: "assistant", parts: [] });
  });

  it("settles an aborted partial turn", async () => {
    const message = await assembleMessage(
      [
        { type: "start" },
        { type: "start-step" },
        { type: "reasoning-start", id: "r" },
        { type: "reasoning-delta", id: "r", delta: "Thinking" },
        { type: "tool-input-start", toolCallId: "a", toolName: "search" },
        { type: "tool-input-available", toolCallId: "a", toolName: "search", input: { q: "x" } },
        { type: "tool-input-start", toolCallId: "b", toolName: "search" },
        { type: "tool-input-delta", toolCallId: "b", inputTextDelta: '{"q":' },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "Half a sen" },
        { type: "abort", reason: "stopped" },
      ],
      { messageId: "m" },
    );
    expect(message.parts).toMatchObject([
      { type: "step-start" },
      { type: "reasoning", text: "Thinking", state: "done" },
      {
        type: "tool-search",
        toolCallId: "a",
        state: "output-error",
        input: { q: "x" },
        errorText: interruptedToolError,
      },
      { type: "tool-search", toolCallId: "b", state: "input-streaming" },
      { type: "text", text: "Half a sen", state: "done" },
    ]);
  });

  it("closes an interrupted turn's approved call that never ran; a denied one keeps its denial", async () => {
    const message = await assembleMessage(
      [
        { type: "start" },
        { type: "start-step" },
        { type: "tool-input-available", toolCallId: "a", toolName: "pay", input: { euros: 5 } },
        { type: "tool-approval-request", toolCallId: "a", approvalId: "pa", isAutomatic: true },
        { type: "tool-approval-response", approvalId: "pa", approved: true },
        { type: "tool-input-available", toolCallId: "b", toolName: "pay", input: { euros: 500 } },
        { type: "tool-approval-request", toolCallId: "b", approvalId: "pb", isAutomatic: true },
        { type: "tool-approval-response", approvalId: "pb", approved: false },
        { type: "abort", reason: "stopped" },
      ],
      { messageId: "m" },
    );
    expect(message.parts).toMatchObject([
      { type: "step-start" },
      { type: "tool-pay", toolCallId: "a", state: "output-error", errorText: interruptedToolError },
      { type: "tool-pay", toolCallId: "b", state: "approval-responded", approval: { id: "pb", approved: false } },
    ]);
  });

  it("closes the approved call of a turn that failed with a finish chunk (an error before it, or reason interrupted)", async () => {
    const message = await assembleMessage(
      [
        { type: "start" },
        { type: "start-step" },
        { type: "tool-input-available", toolCallId: "a", toolName: "pay", input: { euros: 5 } },
        { type: "tool-approval-request", toolCallId: "a", approvalId: "pa", isAutomatic: true },
        { type: "tool-approval-response", approvalId: "pa", approved: true },
        { type: "finish-step" },
        { type: "finish", finishReason: "interrupted" },
      ],
      { messageId: "m", interrupted: true },
    );
    expect(message.parts[1]).toMatchObject({ state: "output-error", errorText: interruptedToolError });
  });

  it("leaves a finished turn's pending tool call for the client", async () => {
    const message = await assembleMessage(
      [
        { type: "start" },
        { type: "tool-input-available", toolCallId: "a", toolName: "askUser", input: {} },
        { type: "finish", finishReason: "tool-calls" },
      ],
      { messageId: "m" },
    );
    expect(message.parts).toMatchObject([{ type: "tool-askUser", state: "input-available" }]);
  });

  it("keeps what came before a chunk the fold cannot apply, and reports it", async () => {
    const errors: unknown[] = [];
    const message = await assembleMessage(
      [
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "kept" },
        { type: "error", errorText: "provider hiccup" },
        { type: "text-delta", id: "missing", delta: "lost" },
        { type: "text-delta", id: "t", delta: " and lost" },
      ],
      { messageId: "m", onError: (error) => errors.push(error) },
    );
    expect(message.parts).toMatchObject([{ type: "text", text: "kept", state: "done" }]);
    expect(errors.map((error) => (error as Error).message)).toEqual([
      "provider hiccup",
      expect.stringContaining('missing text part with ID "missing"'),
    ]);
  });
});

describe("mergeDeltas", () => {
  const interleaved: UIMessageChunk[] = [
    { type: "start" },
    { type: "start-step" },
    { type: "reasoning-start", id: "r1" },
    ...["Think", "ing ", "hard."].map((delta) => ({ type: "reasoning-delta" as const, id: "r1", delta })),
    { type: "reasoning-end", id: "r1" },
    { type: "text-start", id: "t1" },
    { type: "text-start", id: "t2" },
    { type: "text-delta", id: "t1", delta: "One, " },
    { type: "text-delta", id: "t1", delta: "two, " },
    { type: "text-delta", id: "t2", delta: "other part" },
    { type: "text-delta", id: "t1", delta: "three." },
    { type: "text-delta", id: "t1", delta: " With", providerMetadata: { openai: { x: 1 } } },
    { type: "text-delta", id: "t1", delta: " metadata." },
    { type: "text-end", id: "t1" },
    { type: "text-end", id: "t2" },
    { type: "finish-step" },
    { type: "finish" },
  ];

  it("folds to the same message as the chunks it was given, with fewer chunks", async () => {
    const merged = mergeDeltas(interleaved);
    expect(merged.length).toBeLessThan(interleaved.length);
    expect(await librarySnapshot(merged)).toEqual(await librarySnapshot(interleaved));
  });

  it("joins only consecutive deltas of one part, and leaves the input untouched", () => {
    const copy = structuredClone(interleaved);
    const deltas = mergeDeltas(interleaved).filter((c) => c.type === "text-delta" || c.type === "reasoning-delta");
    expect(deltas.map((c) => [c.id, c.delta])).toEqual([
      ["r1", "Thinking hard."],
      ["t1", "One, two, "],
      ["t2", "other part"],
      ["t1", "three."],
      ["t1", " With"],
      ["t1", " metadata."],
    ]);
    expect(interleaved).toEqual(copy);
  });
});
