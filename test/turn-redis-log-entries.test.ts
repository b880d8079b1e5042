// A delta's Redis entry holds its event alone; recovery reads the chunk back
// from it. Only chunks that the event gives back exactly may be left out.
import type { UIMessageChunk } from "ai";
import { expect, it } from "vitest";
import { createChunkMapper } from "../src/turn/chunk-events.ts";
import { impliedChunk, isImplied } from "../src/turn/redis-log-entries.ts";
import type { TurnEvent } from "../src/turn/turn-log.ts";

const eventOf = (chunk: UIMessageChunk, seq = 7) => ({ ...createChunkMapper().map(chunk)[0], seq }) as TurnEvent;

it("a plain text or reasoning delta is implied by its event and read back the same", () => {
  for (const chunk of [
    { type: "text-delta", id: "t1", delta: "Hello, wörld 👋" },
    { type: "reasoning-delta", id: "r1", delta: "" },
  ] as UIMessageChunk[]) {
    const event = eventOf(chunk);
    expect(isImplied(chunk, event)).toBe(true);
    expect(impliedChunk(event)).toEqual(chunk);
  }
});

it("a delta with more than its event carries, or another chunk, keeps its own entry field", () => {
  const withMetadata = {
    type: "text-delta",
    id: "t1",
    delta: "x",
    providerMetadata: { p: { a: 1 } },
  } as UIMessageChunk;
  expect(isImplied(withMetadata, eventOf(withMetadata))).toBe(false);
  const textStart = { type: "text-start", id: "t1" } as UIMessageChunk;
  expect(isImplied(textStart, eventOf(textStart))).toBe(false);
  const delta = { type: "text-delta", id: "t1", delta: "x" } as UIMessageChunk;
  expect(isImplied(delta, null)).toBe(false);
  expect(isImplied(delta, eventOf({ type: "text-delta", id: "t2", delta: "x" } as UIMessageChunk))).toBe(false);
  expect(isImplied(delta, eventOf({ type: "reasoning-delta", id: "t1", delta: "x" } as UIMessageChunk))).toBe(false);
  expect(impliedChunk({ __typename: "StreamStarted", seq: 0 } as unknown as TurnEvent)).toBeNull();
});
