// The turn's size bound (TURN_MAX_BYTES) measures what arrived in UTF-8 bytes:
// a multi-byte answer counts as the bytes it is, not as its UTF-16 length.
import { expect, it } from "vitest";
import { ReceivedChunks } from "../src/turn/received-chunks.ts";

it("counts deltas and other chunks in UTF-8 bytes", () => {
  const received = new ReceivedChunks();
  received.push({ type: "text-delta", id: "t1", delta: "€€" });
  received.push({ type: "text-delta", id: "t1", delta: "😀" });
  expect(received.bytes).toBe(3 + 3 + 4);
  const start = { type: "text-start", id: "é" } as const;
  received.push(start);
  expect(received.bytes).toBe(10 + Buffer.byteLength(JSON.stringify(start)));
  expect(received.bytes).toBeGreaterThan(10 + JSON.stringify(start).length);
  expect(received.all).toEqual([{ type: "text-delta", id: "t1", delta: "€€😀" }, start]);
});
