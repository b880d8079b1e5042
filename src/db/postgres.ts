import { once } from "node:events";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaClient } from "../generated/prisma/client.ts";
import { codeOf } from "../errors.ts";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import type { Database, DatabaseTimeouts, Session } from "./client.ts";
import { type ConnectCallback, STALLED_MESSAGE, StallGuard } from "./stall-guard.ts";

/**
 * PostgreSQL through a pg Pool that Prisma (@prisma/adapter-pg) and the raw
 * SQL share, every wait bounded: connecting, waiting for a pooled connection,
 * each statement on the server, each answer on the client (a stalled socket
 * never delivers the server's statement_timeout), and closing.
 */
export function openPostgres(url: string, max: number, timeouts: DatabaseTimeouts): Database {
  const open = new Set<pg.Client>();
  const guard = new StallGuard();
  const pool = new pg.Pool({
    connectionString: url,
    max,
    types: { getTypeParser: utcTimestamps },
    Client: boundedClient(timeouts.connectMs, open, guard),
    connectionTimeoutMillis: timeouts.acquireMs,
    statement_timeout: timeouts.statementMs,
    query_timeout: timeouts.queryMs,
    // A transaction whose client went silent would hold its row locks (a
    // user's quota lock) until the server noticed the dead socket.
    idle_in_transaction_session_timeout: Math.max(10_000, 2 * timeouts.queryMs),
    // Idle connections to a server that vanished are found out in minutes, not hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
  });
  // An idle client's error (server restart, killed backend) is re-emitted on the
  // pool; unheard, it would crash the process. The pool replaces the client.
  pool.on("error", (error) => log.warn("idle database connection failed", { error }));
  guard.watch(pool);
  timeAcquisitions(pool);
  const unwatch = metrics.watchPool(pool);
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: "postgres",
    prisma,
    sql: { query: async (text, params) => (await pool.query(prepared(text, params))).rows },
    async exec(sql) {
      await pool.query(sql);
    },
    async session(work) {
      const client = await pool.connect();
      try {
        // Start-up work may take long, and waits for another instance's lock.
        await client.query("SET statement_timeout = 0");
        return await work(sessionOn(client, timeouts.migrationMs));
      } finally {
        // Never back to the pool: its settings now differ.
        client.release(true);
      }
    },
    async close() {
      unwatch();
      await prisma.$disconnect();
      await endWithin(pool, open, timeouts.queryMs);
    },
  };
}

/**
 * Each wait for a pooled connection, timed from the ask to the connection or to
 * giving up (DB_POOL_ACQUIRE_TIMEOUT_MS): chat_gateway_database_pool_wait_seconds.
 * The stall guard's refusals waited for nothing and are left out.
 */
function timeAcquisitions(pool: pg.Pool): void {
  const connect = pool.connect.bind(pool) as (callback?: ConnectCallback) => Promise<pg.PoolClient> | undefined;
  (pool as { connect: unknown }).connect = (callback?: ConnectCallback) => {
    const asked = performance.now();
    const waited = (error?: unknown) => {
      if ((error as Error | undefined)?.message !== STALLED_MESSAGE) metrics.poolWaited(asked);
    };
    if (typeof callback === "function") {
      return connect((error, client, done) => {
        waited(error);
        callback(error, client, done);
      });
    }
    const connected = connect()!;
    connected.then(() => waited(), waited);
    return connected;
  };
}

function sessionOn(client: pg.PoolClient, timeoutMs: number): Session {
  // pg reads a per-query query_timeout; its types do not list it.
  const bounded = (text: string, values?: unknown[]) => ({ text, values, query_timeout: timeoutMs }) as pg.QueryConfig;
  return {
    query: async (text, params) => (await client.query(bounded(text, params))).rows,
    async exec(sql) {
      await client.query(bounded(sql));
    },
  };
}

const QUERY_TIMED_OUT = "Query read timeout";

/**
 * pg's Client with its own connect timeout, and a connection whose answer
 * timed out closed at once: pg leaves the unanswered query at the head of the
 * connection, where the pool would hand it out again (Prisma releases a
 * transaction's client without an error) and every later query on it would
 * wait out the timeout behind it. Tells the stall guard whether queries are
 * answered, and tracks its open connections for close().
 */
function boundedClient(connectMs: number, open: Set<pg.Client>, guard: StallGuard): typeof pg.Client {
  return class BoundedClient extends pg.Client {
    constructor(config?: pg.ClientConfig) {
      super({ ...config, connectionTimeoutMillis: connectMs });
      open.add(this);
      this.once("end", () => open.delete(this));
      const query = this.query.bind(this) as (...args: unknown[]) => unknown;
      const settled = (error: unknown) => {
        if (!error || codeOf(error)?.length === 5)
          guard.answered(); // rows, or a SQLSTATE: the server answered
        else if ((error as Error).message === QUERY_TIMED_OUT) {
          guard.unanswered();
          this.connection.stream.destroy();
        }
      };
      // Every form the pool, Prisma's adapter and this code call: (config[, values][, callback]).
      (this as { query: unknown }).query = (...args: unknown[]) => {
        const last = args.length - 1;
        const callback = args[last];
        if (typeof callback === "function") {
          args[last] = (error: unknown, result: unknown) => {
            settled(error);
            (callback as (error: unknown, result: unknown) => void)(error, result);
          };
          return query(...args);
        }
        const result = query(...args);
        if (result instanceof Promise) result.then(() => settled(null), settled);
        return result;
      };
    }
  };
}

/**
 * pool.end(), bounded: it waits for running queries (each bounded) and then
 * for each connection's goodbye, which a stalled server never acknowledges.
 * Past `ms`, the sockets left are closed outright. Resolves once every
 * connection has ended, so nothing of the pool outlives close().
 */
async function endWithin(pool: pg.Pool, open: Set<pg.Client>, ms: number): Promise<void> {
  const ended = pool.end();
  ended.catch((error) => log.warn("database pool did not end cleanly", { error }));
  const timer = AbortSignal.timeout(ms);
  const closed = await Promise.race([allEnded(open).then(() => true), once(timer, "abort").then(() => false)]);
  if (!closed) {
    log.warn("database connections did not close in time; closing them", { open: open.size });
    for (const client of open) client.connection.stream.destroy();
    await allEnded(open);
  }
  // Settles as the last connection ends; bounded all the same.
  await Promise.race([ended.catch(() => {}), once(AbortSignal.timeout(1_000), "abort")]);
}

function allEnded(open: Set<pg.Client>): Promise<void> {
  return new Promise((resolve) => {
    const check = () => {
      if (open.size === 0) resolve();
    };
    check();
    for (const client of open) client.once("end", check);
  });
}

// Each statement text gets a name, so a connection parses it once and then
// only binds and executes it (BENCHMARKS.md, "What was tried").
// The texts are the code's own constants, so the set stays small.
const statementNames = new Map<string, string>();

function prepared(text: string, values: unknown[] | undefined): pg.QueryConfig {
  let name = statementNames.get(text);
  if (name === undefined) {
    name = `gateway_${statementNames.size}`;
    statementNames.set(text, name);
  }
  return { name, text, values };
}

// Prisma stores UTC in `timestamp` columns; pg would read them as local time.
// (Prisma's adapter brings its own parsers, so this only affects raw queries.)
function utcTimestamps(oid: number, format?: "text" | "binary") {
  if (oid === pg.types.builtins.TIMESTAMP) return (value: string) => new Date(`${value.replace(" ", "T")}Z`);
  return pg.types.getTypeParser(oid, format as "text");
}
