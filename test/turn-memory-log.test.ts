// The turn log without Redis keeps an ended turn for the retention as text,
// not as its events' objects: a reader after the end gets the very events a
// reader during the turn got, from any seq, the stored message's date a Date.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { MemoryTurnLog } from "../src/turn/memory-turn-log.ts";
import type { TurnEvent } from "../src/turn/turn-log.ts";

const events = (streamId: string): TurnEvent[] =>
  [
    {
      __typename: "StreamStarted",
      seq: 0,
      streamId,
      chatId: randomUUID(),
      userMessageId: randomUUID(),
      assistantMessageId: randomUUID(),
    },
    { __typename: "TextDelta", seq: 1, partId: "t1", delta: "Hello, " },
    { __typename: "TextDelta", seq: 2, partId: "t1", delta: 'line\nbreak and "quotes"' },
    {
      __typename: "StreamFinished",
      seq: 3,
      finishReason: "stop",
      usage: null,
      message: {
        id: randomUUID(),
        role: "assistant",
        parts: [{ type: "text", text: "Hello, ..." }],
        createdAt: new Date("2026-12-04T10:00:00.000Z"),
      },
    },
  ] as unknown as TurnEvent[];

async function all(reading: AsyncGenerator<TurnEvent>): Promise<TurnEvent[]> {
  const read: TurnEvent[] = [];
  for await (const event of reading) read.push(event);
  return read;
}

describe("MemoryTurnLog", () => {
  it("replays an ended turn as it was streamed, from any seq, until the retention", async () => {
    const log = new MemoryTurnLog({ retentionMs: 200 });
    const streamId = randomUUID();
    const sent = events(streamId);
    log.open(streamId);
    const live = all(log.read(streamId, -1, { running: true }));
    for (const event of sent) log.append(streamId, event);
    log.end(streamId);
    expect(await live).toEqual(sent);

    const replayed = await all(log.read(streamId, -1, { running: false }));
    expect(replayed).toEqual(sent);
    expect((replayed[3] as TurnEvent & { message: { createdAt: unknown } }).message.createdAt).toBeInstanceOf(Date);
    expect((await all(log.read(streamId, 1, { running: false }))).map((event) => event.seq)).toEqual([2, 3]);

    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await all(log.read(streamId, -1, { running: false }))).toEqual([]);
    await log.shutdown();
  });
});
