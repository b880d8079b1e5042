// Start-up's connections, checked so that a gateway that cannot start says
// why in one log line naming the setting at fault, and exits with code 1.
import cluster from "node:cluster";
import { Redis } from "ioredis";
import { databaseTimeoutsOf, type Env, poolSizeOf } from "./config/env.ts";
import { openDatabase } from "./db/client.ts";
import { applyMigrations } from "./db/migrate.ts";
import { log } from "./log.ts";
import { StartupError } from "./config/startup-error.ts";

/** The URL with its password masked, to name a server in a log line; never the password itself. */
export function maskUrlPassword(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "not a URL";
  }
}

/** The error's message, with the URL's password (if it appears) masked. */
function reasonOf(error: unknown, url: string): string {
  let reason = error instanceof Error ? error.message : String(error);
  try {
    const password = decodeURIComponent(new URL(url).password);
    if (password) reason = reason.replaceAll(password, "***");
  } catch {
    // not a URL: no password to mask
  }
  return reason || (error instanceof Error ? error.name : "unknown error");
}

/** Opens the database and applies migrations; a failure names DATABASE_URL (or DATA_DIR for PGlite). */
export async function openMigratedDatabase(env: Env) {
  const url = env.DATABASE_URL;
  let db: Awaited<ReturnType<typeof openDatabase>> | undefined;
  try {
    db = await openDatabase({
      url,
      dataDir: env.DATA_DIR,
      poolSize: poolSizeOf(env, cluster.isWorker),
      timeouts: databaseTimeoutsOf(env),
    });
    const applied = await applyMigrations(db);
    if (applied.length > 0) log.info("migrations applied", { applied });
    return db;
  } catch (error) {
    await db?.close().catch(() => {});
    if (!url) {
      throw new StartupError(
        "DATA_DIR",
        `cannot open the embedded database in DATA_DIR ${env.DATA_DIR}: ${reasonOf(error, "")}`,
        error,
      );
    }
    throw new StartupError(
      "DATABASE_URL",
      `cannot open or migrate the database at DATABASE_URL (${maskUrlPassword(url)}): ${reasonOf(error, url)}`,
      error,
    );
  }
}

/** Connects to Redis once and pings it, so that an unreachable REDIS_URL is named at start-up. */
export async function checkRedis(url: string): Promise<void> {
  const fail = (error: unknown) =>
    new StartupError(
      "REDIS_URL",
      `cannot connect to Redis at REDIS_URL (${maskUrlPassword(url)}): ${reasonOf(error, url)}`,
      error,
    );
  let client: Redis;
  try {
    client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: 5_000,
      commandTimeout: 5_000,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
      connectionName: "chat-gateway:start-up check",
    });
  } catch (error) {
    throw fail(error);
  }
  // The first error is the one worth naming (ioredis then reports only "Connection is closed.").
  let first: unknown;
  client.on("error", (error) => {
    first ??= error;
  });
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw fail(first ?? error);
  } finally {
    client.disconnect();
  }
}
