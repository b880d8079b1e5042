import type { Plugin } from "graphql-yoga";
import type { Database } from "../db/client.ts";
import { migrationsApplied } from "../db/migrate.ts";
import { log } from "../log.ts";

/**
 * `GET /ready`: 200 when the database answers and every migration is applied,
 * 503 otherwise, and 503 at once when the gateway is draining for shutdown
 * (`{ ready: false, draining: true }`), so a load balancer sends it no more turns.
 */
export function readiness(db: Database, draining: () => boolean): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== "/ready" || request.method !== "GET") return;
      if (draining()) {
        endResponse(fetchAPI.Response.json({ ready: false, draining: true }, { status: 503 }));
        return;
      }
      let ready = false;
      try {
        ready = await migrationsApplied(db);
      } catch (error) {
        log.warn("readiness check failed", { error });
      }
      endResponse(fetchAPI.Response.json({ ready }, { status: ready ? 200 : 503 }));
    },
  };
}
