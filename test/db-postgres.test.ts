import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { getChatById } from "../src/db/chats.ts";
import { metricsRegistry } from "../src/metrics.ts";
import { openMigratedDatabase } from "../src/startup.ts";
import { createTestDatabase, onPostgres, type TestDatabase } from "./support/database.ts";
import { dropDatabase, insertUser, newId } from "./support/fixtures.ts";
import { eventually } from "./support/sse.ts";

// PostgreSQL-only behaviour of the connection pool (skipped on PGlite).

let database: TestDatabase;
beforeAll(async () => {
  if (onPostgres) database = await createTestDatabase();
});
afterAll(async () => {
  if (onPostgres) await dropDatabase(database);
});

test.skipIf(!onPostgres)(
  "idle connections killed by the server (restart, failover, idle timeout) do not crash the process",
  async () => {
    // Open several pooled connections, then leave them idle.
    await Promise.all(Array.from({ length: 5 }, () => insertUser(database.db.prisma)));
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    try {
      const { rows } = await admin.query(
        `SELECT pg_terminate_backend(pid) AS killed FROM pg_stat_activity
         WHERE datname = current_database() AND pid <> pg_backend_pid()`,
      );
      expect(rows.length).toBeGreaterThan(0);
    } finally {
      await admin.end();
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The pool replaces the dead connections and keeps serving.
    expect(await getChatById(database.db.prisma, newId())).toBeNull();
    expect(await database.db.prisma.user.count()).toBe(5);
  },
);

/** The pool series of this process's /metrics: queries waiting now, and the waits' count and seconds. */
async function poolSeries() {
  const text = await metricsRegistry.metrics();
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN);
  return {
    waiting: value("chat_gateway_database_pool_waiting"),
    count: value("chat_gateway_database_pool_wait_seconds_count"),
    sum: value("chat_gateway_database_pool_wait_seconds_sum"),
  };
}

test.skipIf(!onPostgres)(
  "DB_POOL_SIZE bounds the connections; queries waiting for one show in /metrics' pool series",
  async () => {
    const db = await openMigratedDatabase(parseEnv({ DATABASE_URL: database.url, DB_POOL_SIZE: "2" }));
    const admin = new pg.Client({ connectionString: database.url });
    await admin.connect();
    const sleeping = async () =>
      (
        await admin.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND state = 'active' AND query LIKE '%pg_sleep(0.3)%' AND pid <> pg_backend_pid()`,
        )
      ).rows[0].n as number;
    try {
      const before = await poolSeries();
      const sleeps = Array.from({ length: 5 }, () => db.sql.query("SELECT pg_sleep(0.3)"));
      // The pool's two connections run two of them, and no third is opened.
      expect(await eventually(async () => (await sleeping()) === 2 && (await poolSeries()).waiting === 3)).toBe(true);
      await Promise.all(sleeps);
      const after = await poolSeries();
      expect(after.waiting).toBe(0);
      expect(after.count - before.count).toBe(5);
      // Two waited for the first pair, one for the second too: 0.3 + 0.3 + 0.6 s at least.
      expect(after.sum - before.sum).toBeGreaterThan(1.1);
    } finally {
      await admin.end();
      await db.close();
    }
  },
);

test.skipIf(!onPostgres)("a query that gives up waiting for a connection is in the pool-wait series too", async () => {
  const db = await openMigratedDatabase(
    parseEnv({ DATABASE_URL: database.url, DB_POOL_SIZE: "1", DB_POOL_ACQUIRE_TIMEOUT_MS: "300" }),
  );
  try {
    const start = await poolSeries();
    const holding = db.sql.query("SELECT pg_sleep(1)");
    // The one connection is taken (its own wait counted) before the second query asks.
    await eventually(async () => (await poolSeries()).count === start.count + 1);
    const before = await poolSeries();
    await expect(db.sql.query("SELECT 1")).rejects.toThrow(/timeout/);
    const after = await poolSeries();
    expect(after.count - before.count).toBe(1);
    expect(after.sum - before.sum).toBeGreaterThan(0.25);
    await holding;
  } finally {
    await db.close();
  }
});
