import { setTimeout as sleep } from "node:timers/promises";
import type { Plugin } from "graphql-yoga";
import type { Database } from "../db/client.ts";
import { migrationsApplied } from "../db/migrate.ts";
import { log } from "../log.ts";

// Probes (a load balancer's, an orchestrator's) give up after a few seconds;
// a database that does not answer sooner counts as not ready.
const READY_CHECK_TIMEOUT_MS = 2_000;
const READY_PATH = "/ready";

/**
 * `GET /ready`: 200 when the database answers and
 * every migration is applied, 503 otherwise, and 503 at once when the gateway
 * is draining for shutdown (`{ ready: false, draining: true }`), so a load
 * balancer sends it no more turns; likewise while it refuses new turns for
 * overload (`{ ready: false, overloaded: true }`). Only that exact path: Yoga's
 * useReadinessCheck also answered any URL ending in `/ready` (`/foo/ready`).
 */
export function useReadiness(
  db: Database,
  turns: { readonly draining: boolean; readonly overloaded: boolean },
): Plugin {
  // Probes arriving while a check runs share it, so a stalled database does
  // not collect one waiting query per probe.
  let running: Promise<boolean> | null = null;
  const databaseReady = () => {
    running ??= migrationsApplied(db)
      .catch((error) => {
        log.warn("readiness check failed", { error });
        return false;
      })
      .finally(() => (running = null));
    return running;
  };
  async function check(fetchAPI: { Response: typeof Response }): Promise<Response> {
    if (turns.draining) return fetchAPI.Response.json({ ready: false, draining: true }, { status: 503 });
    if (turns.overloaded) return fetchAPI.Response.json({ ready: false, overloaded: true }, { status: 503 });
    const gaveUp = new AbortController();
    const timeout = sleep(READY_CHECK_TIMEOUT_MS, undefined, { signal: gaveUp.signal }).then(
      () => {
        log.warn("readiness check timed out", { afterMs: READY_CHECK_TIMEOUT_MS });
        return false;
      },
      () => false,
    );
    const ready = await Promise.race([databaseReady(), timeout]);
    gaveUp.abort();
    return fetchAPI.Response.json({ ready }, { status: ready ? 200 : 503 });
  }
  return {
    async onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname === READY_PATH) endResponse(await check(fetchAPI));
    },
  };
}
