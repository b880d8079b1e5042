import type { UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { ChunkRepair, storableText, storableValue } from "../src/turn/storable-chunks.ts";

const FFFD = "\ufffd";

function repairAll(chunks: object[]): UIMessageChunk[] {
  const repair = new ChunkRepair();
  return chunks.flatMap((chunk) => repair.repair(chunk as UIMessageChunk));
}

describe("storableText", () => {
  it("replaces U+0000 and lone surrogates, and keeps pairs and everything else", () => {
    expect(storableText("a\u0000b")).toBe(`a${FFFD}b`);
    expect(storableText("\ud800x\udc00")).toBe(`${FFFD}x${FFFD}`);
    expect(storableText("\udc00\ud800")).toBe(`${FFFD}${FFFD}`);
    const fine = "naïve \u{1f600} \u0001 text";
    expect(storableText(fine)).toBe(fine);
  });
});

describe("storableValue", () => {
  it("returns a clean value itself, uncopied", () => {
    const value = { type: "data-x", data: { list: [1, "two", { three: true, four: null }] } };
    expect(storableValue(value)).toBe(value);
  });

  it("repairs strings at any depth and in keys, copying only what it changes", () => {
    const untouched = { fine: "yes" };
    const value = { a: untouched, b: ["ok", { [`k\u0000`]: "v\ud800" }], n: 1 };
    const fixed = storableValue(value);
    expect(fixed).toEqual({ a: { fine: "yes" }, b: ["ok", { [`k${FFFD}`]: `v${FFFD}` }], n: 1 });
    expect(fixed.a).toBe(untouched);
    expect(value.b[1]).toEqual({ [`k\u0000`]: "v\ud800" });
  });
});

describe("ChunkRepair", () => {
  it("passes clean chunks through as they are", () => {
    const chunks = [{ type: "text-delta", id: "t", delta: "hi \u{1f600}" }, { type: "finish" }];
    const repaired = repairAll(chunks);
    expect(repaired).toEqual(chunks);
    expect(repaired[0]).toBe(chunks[0]);
  });

  it("joins a pair cut across deltas of one part, even with another part's chunks between", () => {
    expect(
      repairAll([
        { type: "text-delta", id: "t", delta: "a\ud83d" },
        { type: "reasoning-delta", id: "t", delta: "r\ud83d" },
        { type: "text-delta", id: "t", delta: "\ude00b" },
        { type: "reasoning-delta", id: "t", delta: "\ude03" },
        { type: "tool-input-delta", toolCallId: "c", inputTextDelta: '{"q":"\ud83d' },
        { type: "tool-input-delta", toolCallId: "c", inputTextDelta: '\ude00"}' },
      ]),
    ).toEqual([
      { type: "text-delta", id: "t", delta: "a" },
      { type: "reasoning-delta", id: "t", delta: "r" },
      { type: "text-delta", id: "t", delta: "\u{1f600}b" },
      { type: "reasoning-delta", id: "t", delta: "\u{1f603}" },
      { type: "tool-input-delta", toolCallId: "c", inputTextDelta: '{"q":"' },
      { type: "tool-input-delta", toolCallId: "c", inputTextDelta: '\u{1f600}"}' },
    ]);
  });

  it("holds back a delta that is only a high surrogate", () => {
    expect(
      repairAll([
        { type: "text-delta", id: "t", delta: "\ud83d" },
        { type: "text-delta", id: "t", delta: "\ude00" },
      ]),
    ).toEqual([{ type: "text-delta", id: "t", delta: "\u{1f600}" }]);
  });

  it("replaces a half whose part ends, or whose stream finishes or aborts, before the other half", () => {
    expect(
      repairAll([
        { type: "text-delta", id: "t", delta: "a\ud83d" },
        { type: "text-end", id: "t" },
        { type: "tool-input-delta", toolCallId: "c", inputTextDelta: "\ud83d" },
        { type: "tool-input-available", toolCallId: "c", toolName: "x", input: {} },
        { type: "reasoning-delta", id: "r", delta: "b\ud83d" },
        { type: "finish" },
      ]),
    ).toEqual([
      { type: "text-delta", id: "t", delta: "a" },
      { type: "text-delta", id: "t", delta: FFFD },
      { type: "text-end", id: "t" },
      { type: "tool-input-delta", toolCallId: "c", inputTextDelta: FFFD },
      { type: "tool-input-available", toolCallId: "c", toolName: "x", input: {} },
      { type: "reasoning-delta", id: "r", delta: "b" },
      { type: "reasoning-delta", id: "r", delta: FFFD },
      { type: "finish" },
    ]);
    expect(
      repairAll([
        { type: "text-delta", id: "t", delta: "\ud83d" },
        { type: "abort", reason: "x\u0000" },
      ]),
    ).toEqual([
      { type: "text-delta", id: "t", delta: FFFD },
      { type: "abort", reason: `x${FFFD}` },
    ]);
  });

  it("replaces a half whose part a streamer never ended, where its step ends or a part of its id starts again", () => {
    expect(
      repairAll([
        { type: "text-delta", id: "0", delta: "step one \ud83d" },
        { type: "finish-step" },
        { type: "start-step" },
        { type: "reasoning-delta", id: "r", delta: "\ud83d" },
        { type: "reasoning-start", id: "r" },
        { type: "tool-input-delta", toolCallId: "c", inputTextDelta: "{\ud83d" },
        { type: "tool-input-start", toolCallId: "c", toolName: "x" },
        { type: "text-delta", id: "0", delta: "\ud83d" },
        { type: "text-start", id: "0" },
        { type: "text-delta", id: "0", delta: "step two" },
      ]),
    ).toEqual([
      { type: "text-delta", id: "0", delta: "step one " },
      { type: "text-delta", id: "0", delta: FFFD },
      { type: "finish-step" },
      { type: "start-step" },
      { type: "reasoning-delta", id: "r", delta: FFFD },
      { type: "reasoning-start", id: "r" },
      { type: "tool-input-delta", toolCallId: "c", inputTextDelta: "{" },
      { type: "tool-input-delta", toolCallId: "c", inputTextDelta: FFFD },
      { type: "tool-input-start", toolCallId: "c", toolName: "x" },
      { type: "text-delta", id: "0", delta: FFFD },
      { type: "text-start", id: "0" },
      { type: "text-delta", id: "0", delta: "step two" },
    ]);
  });

  it("replaces a low surrogate that follows nothing, and U+0000, in any field", () => {
    expect(
      repairAll([
        { type: "text-delta", id: "t\u0000", delta: "\ude00x" },
        { type: "data-x", data: { k: "\u0000" } },
      ]),
    ).toEqual([
      { type: "text-delta", id: `t${FFFD}`, delta: `${FFFD}x` },
      { type: "data-x", data: { k: FFFD } },
    ]);
  });
});
