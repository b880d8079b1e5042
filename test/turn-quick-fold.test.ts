// The hand fold of plain text and reasoning answers (src/turn/quick-fold.ts)
// must give exactly the ai package's last readUIMessageStream snapshot, or
// leave the chunks to it.
import type { UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { assembleMessage } from "../src/turn/assemble.ts";
import { quickFold } from "../src/turn/quick-fold.ts";
import { libraryFold } from "./support/library-fold.ts";

/** A small seeded generator, so a failure names a sequence that can be replayed. */
function random(seed: number) {
  let state = seed >>> 0 || 1;
  return (n: number) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % n;
  };
}

const meta = { openai: { itemId: "item-1" } };

function chunkFrom(pick: (n: number) => number): UIMessageChunk {
  const id = ["t1", "t2"][pick(2)];
  const rid = ["r1", "r2"][pick(2)];
  const providerMetadata = pick(4) === 0 ? { providerMetadata: structuredClone(meta) } : {};
  const options: (() => UIMessageChunk)[] = [
    () => ({ type: "start", ...(pick(2) ? { messageId: ["m1", "m2"][pick(2)] } : {}) }),
    () => ({ type: "start", messageId: "m1", messageMetadata: { n: 1, usage: { inputTokens: 3 } } }),
    () => ({ type: "start-step" }),
    () => ({ type: "finish-step" }),
    () => ({ type: "text-start", id, ...providerMetadata }),
    () => ({ type: "text-delta", id, delta: ["Hello", " world", "", "é"][pick(4)], ...providerMetadata }),
    () => ({ type: "text-delta", id, delta: "more" }),
    () => ({ type: "text-end", id, ...providerMetadata }),
    () => ({ type: "reasoning-start", id: rid, ...providerMetadata }),
    () => ({ type: "reasoning-delta", id: rid, delta: "thinking", ...providerMetadata }),
    () => ({ type: "reasoning-end", id: rid, ...providerMetadata }),
    () => ({ type: "finish", ...(pick(2) ? { finishReason: "stop" as const } : {}) }),
    () => ({ type: "finish", finishReason: "stop", messageMetadata: pick(2) ? { usage: 1 } : usageMetadata(pick) }),
    () => ({ type: "abort" }),
    () => ({ type: "error", errorText: "upstream said no" }),
    () => ({ type: "message-metadata", messageMetadata: { n: 2, usage: { outputTokens: 5 }, tags: ["a"] } }),
    () => ({ type: "message-metadata", messageMetadata: ["not", "an", "object"] }),
    () => ({ type: "start", messageMetadata: "not an object" }),
    () => ({ type: "text-end", id, citations: [] }) as UIMessageChunk,
    () => ({ type: "source-url", sourceId: "s1", url: "https://example.com" }),
    () => ({ type: "tool-input-start", toolCallId: "c1", toolName: "weather" }),
  ];
  // The plain chunks (the first 16) most of the time, so that many sequences take the hand fold.
  return options[pick(5) === 0 ? pick(options.length) : pick(16)]();
}

/** Metadata as the streamers send it on `finish` (usage), at times with keys to merge into or over earlier metadata. */
function usageMetadata(pick: (n: number) => number): Record<string, unknown> {
  const metadata: Record<string, unknown> = { usage: { inputTokens: 3, outputTokens: pick(9) }, model: "mock" };
  if (pick(2)) metadata.n = [null, { deep: true }, 7][pick(3)];
  if (pick(3) === 0) metadata.usage = { outputTokens: undefined, totalTokens: 9 };
  if (pick(4) === 0) metadata.tags = { a: 1 };
  return metadata;
}

/** Mostly well-formed answers: a start, then parts opened before their deltas, with random chunks mixed in. */
function sequence(seed: number): UIMessageChunk[] {
  const pick = random(seed);
  const chunks: UIMessageChunk[] = pick(3) ? [{ type: "start", messageId: "m1" }, { type: "start-step" }] : [];
  if (pick(2)) chunks.push({ type: "text-start", id: "t1" });
  const length = pick(14);
  for (let i = 0; i < length; i++) chunks.push(chunkFrom(pick));
  return chunks;
}

describe("quickFold", () => {
  it("gives the ai package's last snapshot, keys in the same order, or leaves the chunks to it", async () => {
    let folded = 0;
    let left = 0;
    for (let seed = 1; seed <= 8000; seed++) {
      const chunks = sequence(seed);
      const quick = quickFold(structuredClone(chunks), { errorsHeard: false });
      if (quick === null) {
        left++;
        continue;
      }
      folded++;
      const reference = await libraryFold(chunks);
      expect({ seed, folded: quick.folded }).toStrictEqual({ seed, folded: reference });
      expect(JSON.stringify(quick.folded)).toBe(JSON.stringify(reference));
    }
    // Both ways are exercised: the comparison above is not vacuous.
    expect(folded).toBeGreaterThan(1000);
    expect(left).toBeGreaterThan(300);
  });

  it("leaves to the ai package what it cannot judge: a delta for a part never started, metadata not an object, other chunks, an error someone hears", () => {
    const cases: UIMessageChunk[][] = [
      [{ type: "text-delta", id: "t1", delta: "x" }],
      [
        { type: "text-start", id: "t1" },
        { type: "text-end", id: "t1" },
        { type: "text-delta", id: "t1", delta: "x" },
      ],
      [{ type: "start", messageMetadata: "a" }],
      [{ type: "message-metadata", messageMetadata: [1] }],
      [{ type: "source-url", sourceId: "s", url: "https://example.com" }],
    ];
    for (const chunks of cases) expect(quickFold(chunks, { errorsHeard: false })).toBeNull();
    expect(quickFold([{ type: "error", errorText: "x" }], { errorsHeard: true })).toBeNull();
    expect(quickFold([{ type: "error", errorText: "x" }], { errorsHeard: false })).toEqual({ folded: undefined });
  });

  it("assembleMessage stores what the ai package's fold gives, tidied; an error chunk someone hears takes the ai package's fold", async () => {
    const answer: UIMessageChunk[] = [
      { type: "start", messageId: "streamer-id" },
      { type: "start-step" },
      { type: "reasoning-start", id: "r1" },
      { type: "reasoning-delta", id: "r1", delta: "Let me think." },
      { type: "reasoning-end", id: "r1" },
      { type: "text-start", id: "t1", providerMetadata: meta },
      { type: "text-delta", id: "t1", delta: "Hello" },
      { type: "text-delta", id: "t1", delta: " world" },
      { type: "error", errorText: "upstream said no" },
      { type: "finish-step" },
    ];
    // Cut off mid-part (no text-end, no finish): the streaming part stored as done, the gateway's id.
    const quick = await assembleMessage(answer, { messageId: "gateway-id" });
    expect(quick).toStrictEqual({
      id: "gateway-id",
      metadata: undefined,
      role: "assistant",
      parts: [
        { type: "step-start" },
        { type: "reasoning", id: "r1", text: "Let me think.", providerMetadata: undefined, state: "done" },
        { type: "text", text: "Hello world", providerMetadata: meta, state: "done" },
      ],
    });
    const heard: unknown[] = [];
    const library = await assembleMessage(answer, { messageId: "gateway-id", onError: (error) => heard.push(error) });
    expect(heard).toEqual([new Error("upstream said no")]);
    expect(library).toStrictEqual(quick);
  });
});
