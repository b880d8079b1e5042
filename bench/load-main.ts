// Bench child: a share of bench/capacity.ts's SSE clients, so that a thousand
// streams are not read by one process (which would measure the client). The
// parent sends the specs; this opens them spread over `rampMs` and answers with
// every stream's result once all have ended; or keeps each one's slot busy
// with turn after turn for a while (sustain).
import { setTimeout as sleep } from "node:timers/promises";
import { agent, openStream, renewed, type StreamResult, type StreamSpec } from "./client.ts";
import { serveParent } from "./child.ts";

export interface OpenArgs {
  specs: StreamSpec[];
  rampMs: number;
}

async function openAll({ specs, rampMs }: OpenArgs): Promise<StreamResult[]> {
  const gap = specs.length > 1 ? rampMs / specs.length : 0;
  const started = performance.now();
  const done: Promise<StreamResult>[] = [];
  for (const [i, spec] of specs.entries()) {
    const wait = started + i * gap - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    done.push(openStream(spec).done);
  }
  return Promise.all(done);
}

export interface SustainArgs extends OpenArgs {
  /** Each slot opens its next turn as its last one ends, until this long after the first opened. */
  durationMs: number;
}

// A slot whose turn did not finish waits before its next, as a refused client would:
// the refusal's retryAfterSeconds, or this long.
const RETRY_MS = 1_000;

async function sustainAll({ specs, rampMs, durationMs }: SustainArgs): Promise<StreamResult[]> {
  const gap = specs.length > 1 ? rampMs / specs.length : 0;
  const started = performance.now();
  const results: StreamResult[] = [];
  await Promise.all(
    specs.map(async (spec, i) => {
      await sleep(i * gap);
      do {
        const result = await openStream(renewed(spec)).done;
        results.push(result);
        if (result.status !== "finished") await sleep((result.retryAfterSeconds ?? 0) * 1000 || RETRY_MS);
      } while (performance.now() - started < durationMs);
    }),
  );
  return results;
}

serveParent("", {
  handlers: {
    open: (args) => openAll(args as OpenArgs),
    sustain: (args) => sustainAll(args as SustainArgs),
  },
  close: async () => agent.destroy(),
});
