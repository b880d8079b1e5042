import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { getChatById } from "../src/db/chats.ts";
import { createTestDatabase, onPostgres, type TestDatabase } from "./support/database.ts";
import { dropDatabase, insertUser, newId } from "./support/fixtures.ts";

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
