import { createUIMessageStream, JsonToSseTransformStream, type UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { createChunkMapper } from "../src/turn/chunk-events.ts";
import { usageOf } from "../src/usage.ts";
import { readChunks } from "../src/turn/chunk-stream.ts";
import type { ChunkEventDraft } from "../src/turn/events.ts";
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

async function mapAll(chunks: UIMessageChunk[]) {
  const mapper = createChunkMapper();
  const events: ChunkEventDraft[] = [];
  for await (const chunk of readChunks(upstreamBodyOf(sseBody(chunks)), { idleTimeoutMs: 1000 })) {
    events.push(...mapper.map(chunk));
  }
  return { events, mapper };
}

const usageV7 = {
  inputTokens: 120,
  inputTokenDetails: { noCacheTokens: 20, cacheReadTokens: 100, cacheWriteTokens: undefined },
  outputTokens: 40,
  outputTokenDetails: { textTokens: 30, reasoningTokens: 10 },
  totalTokens: 160,
};

const twoStepTurn: UIMessageChunk[] = [
  { type: "start" },
  { type: "start-step" },
  { type: "reasoning-start", id: "r1" },
  { type: "reasoning-delta", id: "r1", delta: "Weather needs a lookup." },
  { type: "reasoning-end", id: "r1" },
  { type: "tool-input-start", toolCallId: "call-1", toolName: "getWeather" },
  { type: "tool-input-delta", toolCallId: "call-1", inputTextDelta: '{"city":' },
  { type: "tool-input-delta", toolCallId: "call-1", inputTextDelta: '"Paris"}' },
  { type: "tool-input-available", toolCallId: "call-1", toolName: "getWeather", input: { city: "Paris" } },
  { type: "tool-output-available", toolCallId: "call-1", output: { celsius: 18 } },
  { type: "finish-step" },
  { type: "start-step" },
  { type: "text-start", id: "t1" },
  { type: "text-delta", id: "t1", delta: "It is " },
  { type: "text-delta", id: "t1", delta: "18°C in Paris." },
  { type: "text-end", id: "t1" },
  { type: "source-url", sourceId: "s1", url: "https://weather.example/paris", title: "Paris weather" },
  { type: "data-weather", id: "w1", data: { city: "Paris", celsius: 18 } },
  { type: "data-status", data: "done looking", transient: true },
  { type: "finish-step" },
  { type: "finish", finishReason: "stop", messageMetadata: { usage: usageV7, model: "gpt-test" } },
];

describe("createChunkMapper", () => {
  it("maps a two-step turn to the contract's events", async () => {
    const { events, mapper } = await mapAll(twoStepTurn);
    expect(events).toEqual([
      { __typename: "StepStarted" },
      { __typename: "ReasoningDelta", partId: "r1", delta: "Weather needs a lookup." },
      { __typename: "ToolInputStarted", toolCallId: "call-1", toolName: "getWeather" },
      { __typename: "ToolInputDelta", toolCallId: "call-1", delta: '{"city":' },
      { __typename: "ToolInputDelta", toolCallId: "call-1", delta: '"Paris"}' },
      { __typename: "ToolInputAvailable", toolCallId: "call-1", toolName: "getWeather", input: { city: "Paris" } },
      { __typename: "ToolOutputAvailable", toolCallId: "call-1", output: { celsius: 18 }, preliminary: false },
      { __typename: "StepFinished" },
      { __typename: "StepStarted" },
      { __typename: "TextDelta", partId: "t1", delta: "It is " },
      { __typename: "TextDelta", partId: "t1", delta: "18°C in Paris." },
      { __typename: "SourceUrl", sourceId: "s1", url: "https://weather.example/paris", title: "Paris weather" },
      { __typename: "DataDelta", name: "weather", id: "w1", data: { city: "Paris", celsius: 18 }, transient: false },
      { __typename: "DataDelta", name: "status", id: null, data: "done looking", transient: true },
      { __typename: "StepFinished" },
    ]);
    expect(mapper.report).toMatchObject({
      ended: "finish",
      finishReason: "stop",
      messageId: "streamer-msg",
      abortReason: null,
      errorText: null,
    });
    expect(mapper.usage("fallback-model")).toEqual({
      inputTokens: 120,
      outputTokens: 40,
      totalTokens: 160,
      reasoningTokens: 10,
      cachedInputTokens: 100,
      model: "gpt-test",
    });
  });

  it("sends a refused tool input as the input, then the error", () => {
    const mapper = createChunkMapper();
    const events = mapper.map({
      type: "tool-input-error",
      toolCallId: "call-2",
      toolName: "getWeather",
      input: { town: 1 },
      errorText: "Invalid input for tool getWeather",
    });
    expect(events).toEqual([
      { __typename: "ToolInputAvailable", toolCallId: "call-2", toolName: "getWeather", input: { town: 1 } },
      { __typename: "ToolOutputError", toolCallId: "call-2", errorText: "Invalid input for tool getWeather" },
    ]);
  });

  it("flags preliminary tool output, reset steps and tool errors", () => {
    const mapper = createChunkMapper();
    expect(mapper.map({ type: "tool-output-available", toolCallId: "c", output: "50%", preliminary: true })).toEqual([
      { __typename: "ToolOutputAvailable", toolCallId: "c", output: "50%", preliminary: true },
    ]);
    expect(mapper.map({ type: "tool-output-error", toolCallId: "c", errorText: "boom" })).toEqual([
      { __typename: "ToolOutputError", toolCallId: "c", errorText: "boom" },
    ]);
    expect(mapper.map({ type: "reset-step" })).toEqual([{ __typename: "StepReset" }]);
  });

  it("maps tool approvals: asked, answered (the response names its tool call through its request), denied", () => {
    const mapper = createChunkMapper();
    expect(mapper.map({ type: "tool-approval-request", toolCallId: "c", approvalId: "a", reason: "Pays" })).toEqual([
      {
        __typename: "ToolApprovalRequested",
        toolCallId: "c",
        approvalId: "a",
        requestReason: "Pays",
        isAutomatic: false,
      },
    ]);
    expect(mapper.map({ type: "tool-approval-response", approvalId: "a", approved: false })).toEqual([
      { __typename: "ToolApprovalResponded", toolCallId: "c", approvalId: "a", approved: false, responseReason: null },
    ]);
    // A response to an approval asked in an earlier request: the stored message holds it.
    expect(mapper.map({ type: "tool-approval-response", approvalId: "earlier", approved: true })).toEqual([]);
    expect(mapper.map({ type: "tool-output-denied", toolCallId: "c" })).toEqual([
      { __typename: "ToolOutputDenied", toolCallId: "c" },
    ]);
  });

  it("records error and abort chunks without events", () => {
    const mapper = createChunkMapper();
    expect(mapper.map({ type: "error", errorText: "provider overloaded" })).toEqual([]);
    expect(mapper.map({ type: "abort", reason: "user stopped" })).toEqual([]);
    expect(mapper.report).toMatchObject({
      ended: "abort",
      abortReason: "user stopped",
      errorText: "provider overloaded",
      finishReason: null,
    });
    expect(mapper.usage(null)).toBeNull();
  });

  it("reports no ending for a stream that just stops", async () => {
    const { mapper } = await mapAll([
      { type: "start" },
      { type: "start-step" },
      { type: "text-start", id: "t" },
      { type: "text-delta", id: "t", delta: "Half a" },
    ]);
    expect(mapper.report.ended).toBeNull();
  });

  it("takes the Chat SDK's data-usage part as usage", () => {
    const mapper = createChunkMapper();
    mapper.map({ type: "data-usage", data: { ...usageV7, modelId: "openai/gpt-5", costUSD: { totalUSD: 0.1 } } });
    expect(mapper.usage("fallback")).toEqual({
      inputTokens: 120,
      outputTokens: 40,
      totalTokens: 160,
      reasoningTokens: 10,
      cachedInputTokens: 100,
      model: "openai/gpt-5",
    });
  });

  it("merges metadata across start, message-metadata and finish", () => {
    const mapper = createChunkMapper();
    mapper.map({ type: "start", messageMetadata: { createdAt: "2025-01-01" } });
    mapper.map({ type: "message-metadata", messageMetadata: { model: "m1" } });
    mapper.map({ type: "finish", messageMetadata: { usage: { outputTokens: 5 } } });
    expect(mapper.report.metadata).toEqual({ createdAt: "2025-01-01", model: "m1", usage: { outputTokens: 5 } });
    // The model named by an earlier chunk is the merged metadata's, as a client's fold has it.
    expect(mapper.usage("fallback")).toMatchObject({ outputTokens: 5, model: "m1" });
  });

  it("keeps usage figures reported by earlier metadata chunks, as the ai package's fold does", async () => {
    const chunks: UIMessageChunk[] = [
      { type: "start" },
      { type: "message-metadata", messageMetadata: { usage: { inputTokens: 7, cachedInputTokens: 2 } } },
      { type: "finish", messageMetadata: { usage: { outputTokens: 9 } } },
    ];
    const mapper = createChunkMapper();
    for (const chunk of chunks) mapper.map(chunk);
    expect(mapper.usage("fallback")).toEqual({
      inputTokens: 7,
      outputTokens: 9,
      totalTokens: null,
      reasoningTokens: null,
      cachedInputTokens: 2,
      model: "fallback",
    });
    // What useChat's fold of the same chunks holds.
    expect((await libraryFold(chunks))?.metadata).toEqual(mapper.report.metadata);
  });

  it("takes a data-usage part after metadata usage, and metadata usage after a data-usage part", () => {
    const mapper = createChunkMapper();
    mapper.map({ type: "message-metadata", messageMetadata: { usage: { inputTokens: 3 } } });
    mapper.map({ type: "data-usage", data: { outputTokens: 4 } } as UIMessageChunk);
    expect(mapper.usage(null)).toMatchObject({ inputTokens: null, outputTokens: 4 });
    mapper.map({ type: "finish", messageMetadata: { usage: { outputTokens: 6 } } });
    expect(mapper.usage(null)).toMatchObject({ inputTokens: 3, outputTokens: 6 });
  });
});

describe("usageOf", () => {
  it("is null when nothing was reported", () => {
    expect(usageOf(undefined, "m")).toBeNull();
    expect(usageOf({ createdAt: 1 }, "m")).toBeNull();
    expect(usageOf({}, "m")).toBeNull();
    expect(usageOf({ inputTokens: undefined, totalTokens: "12" }, "m")).toBeNull();
  });

  it("keeps unknown figures null, never zero", () => {
    expect(usageOf({ outputTokens: 7 }, "fallback")).toEqual({
      inputTokens: null,
      outputTokens: 7,
      totalTokens: null,
      reasoningTokens: null,
      cachedInputTokens: null,
      model: "fallback",
    });
  });

  it("reads the AI SDK 5 flat shape", () => {
    expect(
      usageOf(
        { inputTokens: 3, outputTokens: 4, totalTokens: 7, reasoningTokens: 1, cachedInputTokens: 2, modelId: "v5" },
        null,
      ),
    ).toEqual({
      inputTokens: 3,
      outputTokens: 4,
      totalTokens: 7,
      reasoningTokens: 1,
      cachedInputTokens: 2,
      model: "v5",
    });
  });

  it("refuses figures that are not token counts", () => {
    expect(usageOf({ inputTokens: -1, outputTokens: 1.5, totalTokens: 2 ** 40 }, null)).toBeNull();
    expect(usageOf({ inputTokens: 0 }, null)).toMatchObject({ inputTokens: 0 });
  });
});
