// appendEntries, the turn log's one command a flush, on a real Redis: every
// entry lands in its turn's Stream with the fields it has, expiries are set,
// and an entry Redis refuses is reported by its index while the others land.
import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendEntries } from "../src/turn/redis-log-append.ts";

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("appendEntries (Redis)", () => {
  let redis: Redis;
  beforeAll(() => {
    redis = new Redis(redisUrl!);
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it("writes each turn's entries with their fields, and sets the expiries", async () => {
    const [a, b] = [`test:append:${randomUUID()}`, `test:append:${randomUUID()}`];
    const failures = await appendEntries(
      redis,
      [
        { key: a, id: "0-1", event: '{"seq":0}', chunk: "" },
        { key: b, id: "0-1", event: '{"seq":0}', chunk: '{"type":"start"}' },
        { key: a, id: "0-2", event: "", chunk: '{"type":"start-step"}' },
        { key: a, id: "1-1", event: '{"seq":1}', chunk: "" },
      ],
      100,
      new Map([
        [a, 3600],
        [b, 60],
      ]),
    );
    expect(failures.size).toBe(0);
    expect(await redis.xrange(a, "-", "+")).toEqual([
      ["0-1", ["e", '{"seq":0}']],
      ["0-2", ["c", '{"type":"start-step"}']],
      ["1-1", ["e", '{"seq":1}']],
    ]);
    expect(await redis.xrange(b, "-", "+")).toEqual([["0-1", ["e", '{"seq":0}', "c", '{"type":"start"}']]]);
    expect(await redis.ttl(a)).toBeGreaterThan(3500);
    const ttlB = await redis.ttl(b);
    expect(ttlB).toBeGreaterThan(0);
    expect(ttlB).toBeLessThanOrEqual(60);
    await redis.del(a, b);
  });

  it("reports an entry Redis refuses by its index, and writes the others", async () => {
    const [a, b] = [`test:append:${randomUUID()}`, `test:append:${randomUUID()}`];
    await redis.xadd(a, "5-1", "e", "{}");
    const failures = await appendEntries(
      redis,
      [
        { key: b, id: "0-1", event: '{"seq":0}', chunk: "" },
        { key: a, id: "2-1", event: '{"seq":2}', chunk: "" },
        { key: b, id: "1-1", event: '{"seq":1}', chunk: "" },
      ],
      100,
      new Map(),
    );
    expect([...failures.keys()]).toEqual([1]);
    expect(failures.get(1)).toMatch(/equal or smaller/);
    expect((await redis.xrange(b, "-", "+")).map(([id]) => id)).toEqual(["0-1", "1-1"]);
    await redis.del(a, b);
  });

  it("rejects when the command itself fails", async () => {
    const closed = new Redis(redisUrl!, { lazyConnect: true, maxRetriesPerRequest: 0, enableOfflineQueue: false });
    await expect(
      appendEntries(closed, [{ key: "test:append:never", id: "0-1", event: "{}", chunk: "" }], 100, new Map()),
    ).rejects.toThrow();
    closed.disconnect();
  });
});
