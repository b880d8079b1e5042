import { randomBytes } from "node:crypto";
import pg from "pg";
import { databaseTimeoutsOf, parseEnv } from "../../src/config/env.ts";
import { openDatabase, type Database, type DatabaseTimeouts } from "../../src/db/client.ts";
import { applyMigrations } from "../../src/db/migrate.ts";

/**
 * A fresh, migrated database for one test file: in-memory PGlite by default,
 * or a new database on the PostgreSQL server named by DATABASE_URL (dropped at
 * the end). `reset()` empties every table, for a clean database per test.
 */
export interface TestDatabase {
  db: Database;
  /** The connection string of this file's database (PostgreSQL only). */
  url: string | undefined;
  reset(): Promise<void>;
  drop(): Promise<void>;
}

export const onPostgres = Boolean(process.env.DATABASE_URL);

export interface TestDatabaseOptions {
  /** Rewrites the connection string the gateway uses (a proxy in front of the server). */
  via?: (url: string) => string;
  timeouts?: Partial<DatabaseTimeouts>;
}

export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  let url: string | undefined;
  let dropDatabase = async () => {};
  if (serverUrl) {
    const name = `gw_test_${randomBytes(6).toString("hex")}`;
    await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
    const parsed = new URL(serverUrl);
    parsed.pathname = `/${name}`;
    url = parsed.toString();
    dropDatabase = () => adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
  const db = await openDatabase({
    url: url && options.via ? options.via(url) : url,
    dataDir: "memory://",
    poolSize: 20,
    timeouts: { ...databaseTimeoutsOf(parseEnv()), ...options.timeouts },
  });
  await applyMigrations(db);
  return {
    db,
    url,
    reset: () => db.exec(`TRUNCATE "Vote", "Stream", "Message", "Chat", "User", "QuotaUse" CASCADE`),
    async drop() {
      await db.close();
      await dropDatabase();
    },
  };
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
