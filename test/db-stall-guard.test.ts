// The stall guard on its own (no server): once a query goes unanswered, the
// pool refuses at once, lets one probe through a second, and any answer heals it.
import type pg from "pg";
import { afterEach, beforeEach, expect, test, vi } from "vitest";
import { dbCall } from "../src/db/queryable.ts";
import { STALLED_MESSAGE, StallGuard } from "../src/db/stall-guard.ts";

beforeEach(() => {
  vi.useFakeTimers({ toFake: ["Date"] });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A pool whose connect succeeds, or fails with `failWith` when set; counts the attempts. */
function fakePool() {
  const fake = { attempts: 0, failWith: null as Error | null };
  const pool = {
    connect: async () => {
      fake.attempts++;
      if (fake.failWith) throw fake.failWith;
      return {} as pg.PoolClient;
    },
  } as unknown as pg.Pool;
  return { pool, fake };
}

test("after an unanswered query the pool refuses at once, probes once a second, and an answer heals it", async () => {
  const { pool, fake } = fakePool();
  const guard = new StallGuard();
  guard.watch(pool);
  await pool.connect();
  expect(fake.attempts).toBe(1);

  guard.unanswered();
  await expect(pool.connect()).rejects.toThrow(STALLED_MESSAGE);
  const refused = await new Promise<Error | undefined>((resolve) => pool.connect((error) => resolve(error)));
  expect(refused?.message).toBe(STALLED_MESSAGE);
  expect(fake.attempts).toBe(1);
  // What a client is told.
  await expect(dbCall("probe", () => pool.connect())).rejects.toMatchObject({ extensions: { code: "offline:chat" } });

  vi.advanceTimersByTime(1_000);
  await pool.connect(); // the probe
  expect(fake.attempts).toBe(2);
  await expect(pool.connect()).rejects.toThrow(STALLED_MESSAGE);

  guard.answered();
  await pool.connect();
  await pool.connect();
  expect(fake.attempts).toBe(4);
});

test("a connection attempt that times out counts as unanswered", async () => {
  const { pool, fake } = fakePool();
  new StallGuard().watch(pool);
  fake.failWith = new Error("Connection terminated due to connection timeout");
  await expect(pool.connect()).rejects.toThrow("connection timeout");
  fake.failWith = null;
  await expect(pool.connect()).rejects.toThrow(STALLED_MESSAGE);
  expect(fake.attempts).toBe(1);
});
