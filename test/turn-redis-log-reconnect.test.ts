// The Redis turn log across a Redis outage (a TCP proxy in front of REDIS_URL
// that drops every connection and refuses new ones until it is back up):
// - the shared blocking reader's connection comes back with a new CLIENT ID,
//   and a new resumer still gets its events at once (not after XREAD BLOCK's timeout);
// - a turn that ended while Redis was unreachable still gets its terminal event
//   into the log once Redis is back, after the events Redis missed, so a
//   resumer on another instance ends with no gap; until then the owner keeps
//   the turn in memory, and a resume there reads it whole.
// Redis only.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { log } from "../src/log.ts";
import { eventEntryId, turnKey } from "../src/turn/redis-log-entries.ts";
import { RedisTurnLog } from "../src/turn/redis-turn-log.ts";
import type { TurnEvent } from "../src/turn/turn-log.ts";
import { startOutageProxy, type OutageProxy } from "./support/outage-proxy.ts";

const redisUrl = process.env.REDIS_URL;

const delta = (seq: number) => ({ __typename: "TextDelta", seq, partId: "t1", delta: `${seq} ` }) as TurnEvent;

describe.skipIf(!redisUrl)("the Redis turn log across a Redis outage", () => {
  let proxy: OutageProxy;
  let admin: Redis;
  const logs: RedisTurnLog[] = [];
  const options = { retentionMs: 60_000, maxEvents: 1_000 };
  beforeAll(async () => {
    admin = new Redis(redisUrl!);
  });
  afterEach(async () => {
    proxy?.up();
    for (const turnLog of logs.splice(0)) await turnLog.shutdown();
    await proxy?.close();
    vi.restoreAllMocks();
  });
  afterAll(async () => {
    await admin?.quit();
  });

  /** Iterates `events` into `into` in the background; resolves when they end. */
  function collect(events: AsyncGenerator<TurnEvent>, into: { event: TurnEvent; at: number }[]) {
    return (async () => {
      for await (const event of events) into.push({ event, at: Date.now() });
    })();
  }

  it("feeds a new resumer at once after the blocking connection reconnected", async () => {
    proxy = await startOutageProxy(redisUrl!);
    const reader = await RedisTurnLog.connect(proxy.url, options);
    logs.push(reader);
    const signal = AbortSignal.timeout(20_000);
    const first = randomUUID();
    const firstEvents: { event: TurnEvent; at: number }[] = [];
    const reading = collect(reader.read(first, -1, { running: true, signal }), firstEvents);
    await sleep(300);

    proxy.down();
    await sleep(1_000);
    proxy.up();
    // The shared reader is back, blocked on the first turn's key over its new connection.
    await admin.xadd(turnKey(first), eventEntryId(0), "e", JSON.stringify(delta(0)));
    await vi.waitFor(() => expect(firstEvents.map(({ event }) => event.seq)).toEqual([0]), {
      timeout: 10_000,
      interval: 25,
    });
    await sleep(200);

    // A new resumer of another turn: the shared reader must take its key at once.
    const second = randomUUID();
    const secondEvents: { event: TurnEvent; at: number }[] = [];
    const secondReading = collect(reader.read(second, -1, { running: true, signal }), secondEvents);
    await sleep(200);
    const sent = Date.now();
    await admin.xadd(turnKey(second), eventEntryId(0), "e", JSON.stringify(delta(0)));
    await vi.waitFor(() => expect(secondEvents.length).toBe(1), { timeout: 10_000, interval: 25 });
    // Without the new id it waits out the 5 s block begun when the first event came (about 4.6 s).
    expect(secondEvents[0]!.at - sent).toBeLessThan(2_500);

    for (const key of [first, second]) {
      await admin.xadd(
        turnKey(key),
        eventEntryId(1),
        "e",
        JSON.stringify({ __typename: "StreamAborted", seq: 1, reason: "test", partialMessage: null }),
      );
    }
    await Promise.all([reading, secondReading]);
    await admin.del(turnKey(first), turnKey(second));
  }, 30_000);

  it("gives a resumer on another instance the terminal event of a turn that ended while Redis was unreachable", async () => {
    proxy = await startOutageProxy(redisUrl!);
    const owner = await RedisTurnLog.connect(proxy.url, options);
    const other = await RedisTurnLog.connect(redisUrl!, options);
    logs.push(owner, other);
    const streamId = randomUUID();
    owner.open(streamId);
    owner.append(streamId, delta(0));
    owner.append(streamId, delta(1));

    const events: { event: TurnEvent; at: number }[] = [];
    const reading = collect(other.read(streamId, -1, { running: true, signal: AbortSignal.timeout(20_000) }), events);
    await vi.waitFor(() => expect(events.map(({ event }) => event.seq)).toEqual([0, 1]), {
      timeout: 10_000,
      interval: 25,
    });

    const warn = vi.spyOn(log, "warn");
    proxy.down();
    owner.append(streamId, delta(2));
    // The owner's write failed (not merely waiting for Redis to come back).
    await vi.waitFor(
      () => expect(warn.mock.calls.some(([message]) => message.startsWith("turn log write failed"))).toBe(true),
      { timeout: 10_000, interval: 25 },
    );
    // Later events of the turn are not written while it is degraded; its end brings them.
    owner.append(streamId, delta(3));
    const partialMessage = { id: randomUUID(), role: "assistant", parts: [{ type: "text", text: "0 1 2 3 " }] };
    const terminal = { __typename: "StreamAborted", seq: 4, reason: "stopped", partialMessage } as unknown as TurnEvent;
    owner.append(streamId, terminal);
    owner.end(streamId);
    await sleep(1_500);
    // Meanwhile Redis lacks the turn's end and the events it missed: a resume on the owner reads them from memory.
    const fromOwner: { event: TurnEvent; at: number }[] = [];
    await collect(owner.read(streamId, -1, { running: false, signal: AbortSignal.timeout(5_000) }), fromOwner);
    expect(fromOwner.map(({ event }) => event.seq)).toEqual([0, 1, 2, 3, 4]);
    expect(owner.held).toBe(1);
    proxy.up();

    await reading;
    const last = events.at(-1)!.event;
    expect(last.__typename).toBe("StreamAborted");
    expect(last.seq).toBe(4);
    // The events Redis missed came with the end: the resumer has no gap, nor will a replay.
    expect(events.map(({ event }) => event.seq)).toEqual([0, 1, 2, 3, 4]);
    const replayed: { event: TurnEvent; at: number }[] = [];
    await collect(other.read(streamId, -1, { running: false }), replayed);
    expect(replayed.map(({ event }) => event.seq)).toEqual([0, 1, 2, 3, 4]);
    expect((last as unknown as { partialMessage: unknown }).partialMessage).toEqual(partialMessage);
    // Written at last, the turn is let go.
    await vi.waitFor(() => expect(owner.held).toBe(0), { timeout: 10_000, interval: 25 });
    await admin.del(turnKey(streamId));
  }, 30_000);
});
