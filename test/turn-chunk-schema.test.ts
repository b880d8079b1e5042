// The fast path for the common chunks (src/turn/chunk-schema.ts) must accept,
// refuse and return exactly what the ai package's uiMessageChunkSchema does.
import { asSchema, uiMessageChunkSchema } from "ai";
import { describe, expect, it } from "vitest";
import { streamerChunkSchema } from "../src/turn/chunk-schema.ts";
import { chunkSamples as samples } from "./support/chunk-samples.ts";

const full = asSchema(uiMessageChunkSchema);

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
