import type pg from "pg";

/** What a query gets while the database is known not to answer (src/db/unavailable.ts knows it). */
export const STALLED_MESSAGE = "The database did not answer recent queries in time";

// pg-pool's and pg's words for a connection attempt that got no answer in time.
const CONNECT_TIMED_OUT = ["Connection terminated due to connection timeout", "timeout expired"];

// How often, while the database does not answer, one query is let through to
// see whether it answers again.
const PROBE_EVERY_MS = 1_000;

export type ConnectCallback = (
  error: Error | undefined,
  client?: pg.PoolClient,
  done?: (release?: unknown) => void,
) => void;

/**
 * Once a query or a connection attempt goes unanswered past its bound, the
 * pool refuses at once instead of making every caller wait out the same
 * timeout (a running turn's store, then its fallback, then each new request),
 * and lets one query through a second to find out whether the database
 * answers again. Any answer ends it, so the pool heals by itself.
 */
export class StallGuard {
  private stalled = false;
  private nextProbeAt = 0;

  /** A query went unanswered past its bound. */
  unanswered(): void {
    if (!this.stalled) this.nextProbeAt = Date.now() + PROBE_EVERY_MS;
    this.stalled = true;
  }

  /** The database answered a query (rows or an error of its own). */
  answered(): void {
    this.stalled = false;
  }

  /** Puts the guard on `pool.connect`, which pool.query, Prisma's adapter and transactions all go through. */
  watch(pool: pg.Pool): void {
    const connect = pool.connect.bind(pool) as (callback?: ConnectCallback) => Promise<pg.PoolClient> | undefined;
    const noteTimeout = (error: unknown) => {
      if (CONNECT_TIMED_OUT.includes((error as Error | undefined)?.message ?? "")) this.unanswered();
    };
    (pool as { connect: unknown }).connect = (callback?: ConnectCallback) => {
      if (this.stalled) {
        if (Date.now() < this.nextProbeAt) return refuse(callback);
        this.nextProbeAt = Date.now() + PROBE_EVERY_MS;
      }
      if (typeof callback === "function") {
        return connect((error, client, done) => {
          noteTimeout(error);
          callback(error, client, done);
        });
      }
      const connected = connect()!;
      connected.catch(noteTimeout);
      return connected;
    };
  }
}

function refuse(callback: ConnectCallback | undefined): Promise<never> | undefined {
  const error = new Error(STALLED_MESSAGE);
  if (typeof callback !== "function") return Promise.reject(error);
  // Order matters: a callback API must never call back before it returns.
  process.nextTick(callback, error);
  return undefined;
}
