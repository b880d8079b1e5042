// What bench/turn.ts and bench/capacity.ts share: their integer settings, the secrets of a run, the
// children's environment, and a fresh database (PostgreSQL of DATABASE_URL or PGlite).
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import pg from "pg";
import { parseEnv } from "../src/config/env.ts";

/** An integer setting from the environment: the fallback when unset or empty. */
export function intSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

export const secrets = {
  AUTH_SECRET: randomBytes(32).toString("hex"),
  NEXTJS_INTERNAL_TOKEN: randomBytes(32).toString("hex"),
};
export const env = parseEnv({ ...secrets, LOG_LEVEL: "silent" });

/**
 * The children's environment: a few OS variables and what the bench sets, none
 * of the parent's gateway settings (they could point elsewhere or change what
 * is measured, e.g. OPENAI_API_KEY or a persisted-operations switch).
 */
export function baseEnv(): Record<string, string | undefined> {
  const base: Record<string, string | undefined> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "LANG", "LC_ALL", "TZ"]) {
    if (process.env[name] !== undefined) base[name] = process.env[name];
  }
  return { ...base, NODE_ENV: "production", LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "silent", ...secrets };
}

export interface BenchDatabase {
  label: string;
  childEnv: Record<string, string>;
  drop(): Promise<void>;
}

export async function adminQuery(serverUrl: string, sql: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: serverUrl, connectionTimeoutMillis: 5_000, query_timeout: 30_000 });
  await client.connect();
  try {
    return await client.query(sql);
  } finally {
    await client.end();
  }
}

export async function createDatabase(): Promise<BenchDatabase> {
  const serverUrl = process.env.DATABASE_URL;
  if (serverUrl) {
    const parsed = new URL(serverUrl);
    if (!["127.0.0.1", "localhost", "[::1]", ""].includes(parsed.hostname)) {
      throw new Error(`the bench only talks to 127.0.0.1; DATABASE_URL points at ${parsed.hostname}`);
    }
    const name = `gw_bench_${randomBytes(6).toString("hex")}`;
    const version = (await adminQuery(serverUrl, "SHOW server_version")).rows[0]?.server_version as string;
    await adminQuery(serverUrl, `CREATE DATABASE ${name}`);
    parsed.pathname = `/${name}`;
    return {
      label: `PostgreSQL ${version} (fresh database ${name} on ${parsed.host}, the gateway's default pool)`,
      childEnv: { DATABASE_URL: parsed.toString() },
      drop: async () => void (await adminQuery(serverUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)),
    };
  }
  const pglite = JSON.parse(
    readFileSync(new URL("../node_modules/@electric-sql/pglite/package.json", import.meta.url), "utf8"),
  );
  if (process.env.BENCH_PGLITE === "memory") {
    return {
      label: `PGlite ${pglite.version} (in the gateway process, in memory: BENCH_PGLITE=memory)`,
      childEnv: { DATA_DIR: "memory://" },
      drop: async () => {},
    };
  }
  // As `npm start` runs it: files in DATA_DIR.
  const dir = mkdtempSync(join(os.tmpdir(), "gw-bench-"));
  return {
    label: `PGlite ${pglite.version} (in the gateway process, file-backed as with npm start, fresh dir)`,
    childEnv: { DATA_DIR: dir },
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}
