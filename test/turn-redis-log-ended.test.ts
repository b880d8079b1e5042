// Under steady load (some turn's entry always waiting for Redis), an ended turn
// is let go once its own entries are written: the instance does not hold every
// ended turn's events until the load stops. Redis only.
import { randomUUID } from "node:crypto";
import { setImmediate as nextCheckPhase } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisTurnLog } from "../src/turn/redis-turn-log.ts";
import type { TurnEvent } from "../src/turn/turn-log.ts";
import { eventually } from "./support/sse.ts";

const redisUrl = process.env.REDIS_URL;

const delta = (seq: number) => ({ __typename: "TextDelta", seq, partId: "t1", delta: `${seq} ` }) as TurnEvent;
const failed = (seq: number) =>
  ({ __typename: "StreamFailed", seq, code: "offline:chat", reason: "test", partialMessage: null }) as TurnEvent;

describe.skipIf(!redisUrl)("ended turns in the Redis turn log", () => {
  let turnLog: RedisTurnLog;
  beforeAll(async () => {
    turnLog = await RedisTurnLog.connect(redisUrl!, { retentionMs: 60_000, maxEvents: 10_000 });
  });
  afterAll(async () => {
    await turnLog?.shutdown();
  });

  it("lets an ended turn go once its entries are written, while other turns keep writing", async () => {
    const busy = randomUUID();
    turnLog.open(busy);
    let seq = 0;
    let writing = true;
    // A turn that appends at every check phase: the queue is never empty when a write returns.
    const steady = (async () => {
      while (writing) {
        turnLog.append(busy, delta(seq++));
        await nextCheckPhase();
      }
    })();
    try {
      const ended = Array.from({ length: 20 }, () => randomUUID());
      for (const streamId of ended) {
        turnLog.open(streamId);
        turnLog.append(streamId, delta(0));
        turnLog.append(streamId, failed(1));
        await nextCheckPhase();
        turnLog.end(streamId);
      }
      await eventually(async () => turnLog.held === 1, 10_000);
      // Each ended turn's events are in Redis: a read here now comes from there, whole.
      const read: number[] = [];
      for await (const event of turnLog.read(ended[0], -1, { running: false })) read.push(event.seq);
      expect(read).toEqual([0, 1]);
    } finally {
      writing = false;
      await steady;
    }
    turnLog.append(busy, failed(seq));
    turnLog.end(busy);
    await eventually(async () => turnLog.held === 0, 10_000);
  }, 30_000);

  it("goes on writing after a write that threw, and lets its turns go", async () => {
    const broken = randomUUID();
    const next = randomUUID();
    turnLog.open(broken);
    // An event JSON cannot carry: its serialisation throws inside the write.
    turnLog.append(broken, { ...delta(0), delta: 1n } as unknown as TurnEvent);
    turnLog.append(broken, failed(1));
    turnLog.end(broken);
    await eventually(async () => turnLog.held === 0, 10_000);
    turnLog.open(next);
    turnLog.append(next, delta(0));
    turnLog.append(next, failed(1));
    turnLog.end(next);
    await eventually(async () => turnLog.held === 0, 10_000);
    const read: number[] = [];
    for await (const event of turnLog.read(next, -1, { running: false })) read.push(event.seq);
    expect(read).toEqual([0, 1]);
  });
});
