// The fast path for the common chunks (src/turn/chunk-schema.ts) must accept,
// refuse and return exactly what the ai package's uiMessageChunkSchema does.
import { asSchema, uiMessageChunkSchema } from "ai";
import { describe, expect, it } from "vitest";
import { streamerChunkSchema } from "../src/turn/chunk-schema.ts";

const full = asSchema(uiMessageChunkSchema);

const samples: unknown[] = [
  { type: "text-delta", id: "t1", delta: "Hello" },
  { type: "text-delta", id: "t1", delta: "" },
  { delta: " world", id: "t1", type: "text-delta" },
  { type: "text-delta", id: "t1", delta: "x", extra: { kept: true } },
  { type: "text-delta", id: "t1", delta: "x", providerMetadata: { openai: { itemId: "a" } } },
  { type: "text-delta", id: "t1", delta: "x", providerMetadata: "not an object" },
  { type: "text-delta", id: "t1", delta: "x", providerMetadata: null },
  { type: "text-delta", id: "t1", delta: 5 },
  { type: "text-delta", id: 1, delta: "x" },
  { type: "text-delta", delta: "x" },
  { type: "text-delta", id: "t1" },
  { type: "reasoning-delta", id: "r1", delta: "thinking" },
  { delta: "thinking", type: "reasoning-delta", id: "r1", extra: 1 },
  { type: "reasoning-delta", id: "r1" },
  { type: "reasoning-delta", id: "r1", delta: "x", providerMetadata: { a: { b: 1 } } },
  { type: "text-start", id: "t1" },
  { id: "t1", type: "text-start", extra: [1] },
  { type: "text-start", id: 7 },
  { type: "text-start", id: "t1", providerMetadata: { a: {} } },
  { type: "text-end", id: "t1" },
  { type: "text-end", id: "t1", citations: [] },
  { type: "text-end" },
  { type: "reasoning-start", id: "r1" },
  { type: "reasoning-end", id: "r1", providerMetadata: 3 },
  { type: "reasoning-end", id: "r1" },
  { type: "finish", finishReason: "stop" },
  { type: "finish" },
  { messageMetadata: { usage: { inputTokens: 1 } }, finishReason: "length", type: "finish", extra: "x" },
  { type: "finish", finishReason: "something-new" },
  { type: "finish", finishReason: 3 },
  { type: "finish", messageMetadata: null },
  { type: "start" },
  { type: "start", messageId: "m1", messageMetadata: { model: "x" } },
  { messageMetadata: [1, 2], type: "start", other: true, messageId: "m1" },
  { type: "start", messageId: 5 },
  { type: "start-step" },
  { extra: true, type: "start-step" },
  { type: "finish-step" },
  { type: "finish-step", providerMetadata: { a: {} } },
  { type: "reset-step" },
  { type: "data-weather", data: { city: "Berlin" } },
  ["text-delta"],
  null,
  "text-delta",
  42,
];

describe("the streamer chunk schema's fast path", () => {
  it.each(samples.map((sample) => [JSON.stringify(sample), sample]))(
    "gives what the ai schema gives for %s",
    async (_name, sample) => {
      const [fast, reference] = await Promise.all([streamerChunkSchema.validate!(sample), full.validate!(sample)]);
      expect(fast.success).toBe(reference.success);
      if (fast.success && reference.success) {
        expect(fast.value).toStrictEqual(reference.value);
        expect(JSON.stringify(fast.value)).toBe(JSON.stringify(reference.value));
        expect(fast.value).not.toBe(sample);
      }
    },
  );
});
