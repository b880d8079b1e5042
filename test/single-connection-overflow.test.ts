// A GET that stops reading its event stream: once more results wait than the
// bound, the stream ends with an error and `complete` for each operation, after
// the results that waited, so the client sees its operations fail instead of
// silently missing results. A GET that keeps up is never cut, however many
// results pass. In memory and, with REDIS_URL, in Redis.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import type { EventStreams, WaitingBounds } from "../src/http/single-connection/event-streams.ts";
import { MemoryEventStreams } from "../src/http/single-connection/memory-event-streams.ts";
import { RedisEventStreams } from "../src/http/single-connection/redis-event-streams.ts";
import { eventually } from "./support/sse.ts";

const MAX = 5;
const BOUNDS: WaitingBounds = { results: MAX, bytes: 4_000 };
const result = (n: number) => `event: next\ndata: {"id":"op-1","payload":{"data":{"n":${n}}}}\n\n`;

/** A stream reserved, opened (its frames not read yet) and running operation `op-1`. */
async function heldStream(streams: EventStreams) {
  const id = randomUUID();
  await streams.reserve(id, until, "user:test");
  const opened = await streams.open(id, until);
  if (opened.kind !== "opened") throw new Error(`not opened: ${opened.kind}`);
  expect(await streams.addOperation(id, "op-1", 10)).toBe("added");
  const cancels: (string | null)[] = [];
  streams.onCancel((streamId, operationId) => streamId === id && cancels.push(operationId));
  return { id, frames: opened.stream.frames[Symbol.asyncIterator](), close: opened.stream.close, cancels };
}

const until = Date.now() + 10 * 60_000;

/** The error result and `complete` a stream ends with past its bounds, after `waited`. */
function expectOverflowAfter(text: string, waited: string) {
  expect(text.startsWith(waited)).toBe(true);
  const [next, complete] = text.slice(waited.length).split("\n\n");
  expect(next).toMatch(/^event: next\ndata: /);
  expect(JSON.parse(next.replace(/^event: next\ndata: /, ""))).toEqual({
    id: "op-1",
    payload: {
      errors: [
        { message: expect.stringContaining("run the operation again"), extensions: { code: "bad_request:api" } },
      ],
    },
  });
  expect(complete).toBe(`event: complete\ndata: {"id":"op-1"}`);
}

/** Reads until `enough` holds or the frames end; refuses to wait forever. */
async function read(frames: AsyncIterator<string[]>, enough: (text: string) => boolean = () => false) {
  let text = "";
  const deadline = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5_000).unref());
  for (;;) {
    const next = await Promise.race([frames.next(), deadline]);
    if (next === "timeout") return { text, ended: false };
    if (next.done) return { text, ended: true };
    text += next.value.join("");
    if (enough(text)) return { text, ended: false };
  }
}

function behaves(name: string, create: () => Promise<EventStreams>) {
  describe(name, () => {
    let streams: EventStreams;
    afterAll(() => streams?.close());

    it("a holder that keeps up gets every result, however many pass", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      let text = "";
      for (let n = 0; n < MAX * 4; n++) {
        streams.send(held.id, result(n), until);
        text += (await read(held.frames, (seen) => seen.includes(result(n)))).text;
      }
      expect(text).toBe(Array.from({ length: MAX * 4 }, (_, n) => result(n)).join(""));
      expect(held.cancels).toEqual([]);
      await held.close();
    });

    it("a holder that stops reading gets what waited, then an error and complete per operation, then the end", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      for (let n = 0; n < MAX + 3; n++) streams.send(held.id, result(n), until);
      const { text, ended } = await read(held.frames);
      expectOverflowAfter(text, Array.from({ length: MAX }, (_, n) => result(n)).join(""));
      expect(ended).toBe(true);
      // Its operations are stopped, and the stream is gone.
      await eventually(async () => held.cancels.includes(null));
      await held.close();
      expect(await streams.state(held.id, Date.now() + 30_000)).toBe("gone");
    });

    it("counts results, not sends: one send of more results than the bound ends the stream", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      streams.send(held.id, result(0), until);
      // One upstream read can carry many results, forwarded as one send.
      streams.send(held.id, Array.from({ length: MAX }, (_, n) => result(n + 1)).join(""), until);
      const { text, ended } = await read(held.frames);
      expectOverflowAfter(text, result(0));
      expect(ended).toBe(true);
      await held.close();
    });

    it("ends a stream whose waiting results pass its bytes, however few", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      const fat = (n: number) => result(n).replace(`"n":${n}`, `"n":${n},"pad":"${"x".repeat(1_500)}"`);
      streams.send(held.id, fat(0), until);
      streams.send(held.id, fat(1), until);
      // A third would put 4,500 bytes in waiting, past 4,000.
      streams.send(held.id, fat(2), until);
      const { text, ended } = await read(held.frames);
      expectOverflowAfter(text, fat(0) + fat(1));
      expect(ended).toBe(true);
      await held.close();
    });

    it("one result larger than the bytes bound reaches a holder that keeps up", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      const huge = result(0).replace('"n":0', `"n":0,"pad":"${"x".repeat(6_000)}"`);
      streams.send(held.id, huge, until);
      const { text } = await read(held.frames, (seen) => seen.includes(huge));
      expect(text).toBe(huge);
      expect(held.cancels).toEqual([]);
      await held.close();
    });

    it("what the holder took no longer waits: a reading holder is never cut by the bytes", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      const fat = (n: number) => result(n).replace(`"n":${n}`, `"n":${n},"pad":"${"x".repeat(1_500)}"`);
      let text = "";
      for (let n = 0; n < 8; n++) {
        streams.send(held.id, fat(n), until);
        text += (await read(held.frames, (seen) => seen.includes(fat(n)))).text;
      }
      expect(text).toBe(Array.from({ length: 8 }, (_, n) => fat(n)).join(""));
      expect(held.cancels).toEqual([]);
      await held.close();
    });
  });
}

behaves("in memory", async () => new MemoryEventStreams({ waiting: BOUNDS }));

describe("in memory, across streams", () => {
  it("an overflowed stream forgotten before its holder read keeps its end for it, not what waited", async () => {
    const streams: EventStreams = new MemoryEventStreams({ maxStreams: 1, waiting: BOUNDS });
    const a = await heldStream(streams);
    for (let n = 0; n < MAX + 1; n++) streams.send(a.id, result(n), until);
    // Another stream's end pushes a's tombstone out: a is forgotten.
    const other = await heldStream(streams);
    await other.close();
    const { text, ended } = await read(a.frames);
    expectOverflowAfter(text, "");
    expect(ended).toBe(true);
    await streams.close();
  });

  it("past the process's bound, the stream holding the most is ended, not the one whose send came next", async () => {
    const streams: EventStreams = new MemoryEventStreams({
      waiting: { results: 1_000, bytes: 1_000_000 },
      maxTotalWaitingBytes: 1_500,
    });
    const [a, b] = [await heldStream(streams), await heldStream(streams)];
    const fat = result(0).padEnd(900, " ");
    const small = result(1).padEnd(300, " ");
    streams.send(a.id, fat, until);
    streams.send(b.id, small, until);
    // Another 400 bytes to b would pass 1,500 in all: a, holding the most, ends; what waited for it goes.
    streams.send(b.id, result(2).padEnd(400, " "), until);
    expectOverflowAfter((await read(a.frames)).text, "");
    expect((await read(b.frames, (text) => text.includes(result(2)))).text).toBe(small + result(2).padEnd(400, " "));
    expect(b.cancels).toEqual([]);
    await Promise.all([a.close(), b.close()]);
    await streams.close();
  });
});

const redisUrl = process.env.REDIS_URL;
if (redisUrl) {
  behaves("in Redis", () => RedisEventStreams.connect(redisUrl, { waiting: BOUNDS }));

  describe("in Redis, the waiting count", () => {
    it("is not brought back without an expiry, nor below zero, when the stream's keys expired meanwhile", async () => {
      const streams: EventStreams = await RedisEventStreams.connect(redisUrl);
      const redis = new Redis(redisUrl);
      try {
        const held = await heldStream(streams);
        streams.send(held.id, result(0), until);
        await read(held.frames, (text) => text.includes(result(0)));
        // The keys expire (no send for 10 minutes) before the client asks for more.
        await redis.del(`chat-gateway:sse:{${held.id}}:events`, `chat-gateway:sse:{${held.id}}:waiting`);
        const next = held.frames.next();
        await new Promise((resolve) => setTimeout(resolve, 200));
        expect(await redis.exists(`chat-gateway:sse:{${held.id}}:waiting`)).toBe(0);
        await held.close();
        await next;
      } finally {
        redis.disconnect();
        await streams.close();
      }
    });
  });

  describe("in Redis, a stream no GET holds", () => {
    it("keeps its frames no longer than its reservation (and a grace), and stops its operations once that lapsed", async () => {
      const streams: EventStreams = await RedisEventStreams.connect(redisUrl);
      const redis = new Redis(redisUrl);
      try {
        const id = randomUUID();
        const reservedUntil = Date.now() + 2_000;
        await streams.reserve(id, reservedUntil, "user:test");
        expect(await streams.addOperation(id, "op-1", 10)).toBe("added");
        const cancels: (string | null)[] = [];
        streams.onCancel((streamId, operationId) => streamId === id && cancels.push(operationId));
        streams.send(id, result(0), reservedUntil);
        const events = `chat-gateway:sse:{${id}}:events`;
        await eventually(async () => (await redis.exists(events)) === 1);
        const ttl = await redis.pttl(events);
        expect(ttl).toBeGreaterThan(0);
        // The reservation's 2 s, and 30 s of grace for a sender's clock ahead of the opener's.
        expect(ttl).toBeLessThanOrEqual(32_000);
        // Well past the reservation (and its 5 s of grace), unopened: nothing more is kept, and the operation is stopped.
        streams.send(id, result(1), Date.now() - 6_000);
        await eventually(async () => cancels.includes(null));
        expect(await redis.xlen(events)).toBeLessThanOrEqual(1);
      } finally {
        redis.disconnect();
        await streams.close();
      }
    });
  });
} else describe.skip("in Redis (REDIS_URL unset)", () => it("skipped", () => {}));
