// A reader on the instance running the turn that falls behind the events it
// keeps in memory (they are dropped once Redis has them) goes on from Redis:
// every event, in order, no gap and no repeat. Redis only.
import { randomUUID } from "node:crypto";
import { setImmediate as nextCheckPhase } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisTurnLog } from "../src/turn/redis-turn-log.ts";
import type { TurnEvent } from "../src/turn/turn-log.ts";

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("a local reader behind the turn log's window (Redis)", () => {
  let turnLog: RedisTurnLog;
  beforeAll(async () => {
    turnLog = await RedisTurnLog.connect(redisUrl!, { retentionMs: 60_000, maxEvents: 10_000 });
  });
  afterAll(async () => {
    await turnLog?.shutdown();
  });

  it("gets the events it missed from Redis, then the live ones", async () => {
    const streamId = randomUUID();
    const total = 3_000;
    turnLog.open(streamId);
    const delta = (seq: number) => ({ __typename: "TextDelta", seq, partId: "t1", delta: `${seq} ` }) as TurnEvent;
    turnLog.append(streamId, delta(0));
    const reader = turnLog.read(streamId, -1, { running: true, signal: AbortSignal.timeout(20_000) });
    const seen: number[] = [];
    seen.push((await reader.next()).value!.seq);
    // The reader waits while the turn runs on: Redis takes the events, and the window drops them.
    for (let seq = 1; seq < total; seq++) {
      turnLog.append(streamId, delta(seq));
      if (seq % 100 === 0) await nextCheckPhase();
    }
    for (let i = 0; i < 20; i++) await nextCheckPhase();
    const reading = (async () => {
      for await (const event of { [Symbol.asyncIterator]: () => reader }) {
        seen.push(event.seq);
        if (event.__typename === "StreamFailed") return;
      }
    })();
    const terminal = {
      __typename: "StreamFailed",
      seq: total,
      code: "offline:chat",
      reason: "test",
      partialMessage: null,
    };
    turnLog.append(streamId, terminal as TurnEvent);
    turnLog.end(streamId);
    await reading;
    expect(seen).toEqual(Array.from({ length: total + 1 }, (_, seq) => seq));
  }, 30_000);
});
