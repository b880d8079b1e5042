import { createHash, timingSafeEqual } from "node:crypto";
import type { ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import { log } from "../log.ts";
import { collectProcessMetrics, metrics, metricsRegistry } from "../metrics.ts";
import { answerPrimary, inWorker, instanceMetrics } from "./cluster-metrics.ts";

export interface MetricsOptions {
  /** Serve `GET /metrics` (METRICS). */
  enabled: boolean;
  /** When set, /metrics wants `Authorization: Bearer <token>` (METRICS_TOKEN). */
  token?: string;
}

/**
 * `GET /metrics` in Prometheus' text format (src/metrics.ts), when enabled;
 * 401 without the token when one is set. Counts the requests answered
 * bad_request:database either way.
 */
export function useMetrics({ enabled, token }: MetricsOptions): Plugin {
  if (enabled) collectProcessMetrics();
  if (enabled && inWorker()) answerPrimary();
  const expected = token === undefined ? null : digest(`Bearer ${token}`);
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (!enabled || url.pathname !== "/metrics" || request.method !== "GET") return;
      if (expected && !timingSafeEqual(digest(request.headers.get("authorization") ?? ""), expected)) {
        endResponse(
          new fetchAPI.Response("unauthorized\n", { status: 401, headers: { "www-authenticate": "Bearer" } }),
        );
        return;
      }
      let body: string;
      try {
        body = inWorker() ? await instanceMetrics() : await metricsRegistry.metrics();
      } catch (error) {
        log.warn("/metrics could not gather the instance's series", { error });
        endResponse(new fetchAPI.Response("metrics unavailable for now\n", { status: 503 }));
        return;
      }
      endResponse(new fetchAPI.Response(body, { headers: { "content-type": metricsRegistry.contentType } }));
    },
    onResultProcess({ result }) {
      for (const one of Array.isArray(result) ? result : [result]) {
        if (!(Symbol.asyncIterator in one) && hasDatabaseError(one)) metrics.databaseError();
      }
    },
  };
}

function hasDatabaseError(result: ExecutionResult): boolean {
  return result.errors?.some((error) => error.extensions?.code === "bad_request:database") ?? false;
}

// Equal-length digests, so the comparison takes the same time whatever was sent.
function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}
