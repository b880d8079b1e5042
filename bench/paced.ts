// Paced streams for bench/capacity.ts: many SSE streams at once, read by the
// load children (bench/load-main.ts), each delta's latency read from its
// [stamp] (the streamer's send time). One run measures one path (the gateway
// or the byte pipe) and the CPU and RSS of every process meanwhile.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { signInternalToken } from "../src/auth/internal-token.ts";
import type { BenchChild } from "./children.ts";
import { gatewaySpec, uiSpec, type StreamResult, type StreamSpec } from "./client.ts";
import { machineBusyMs, postgresCpu, postgresCpuBetween, procCpuMs, procRssBytes } from "./cpu.ts";
import { secrets } from "./setup.ts";
import { printTimeline } from "./latency-timeline.ts";
import { maximum, percentile } from "./stats.ts";

export interface User {
  id: string;
  token: string;
}

/** What a run is measured against: its URL and the processes that serve it. */
export interface Target {
  kind: "gateway" | "pipe";
  label: string;
  url: string;
  cpuMs(): number;
  rssBytes(): number;
  /** Live heap bytes after a full collection (BENCH_LIVE_HEAP=1), or null. */
  liveHeapBytes?(): Promise<number | null>;
}

export interface Loaders {
  children: BenchChild[];
  streamerPid: number;
}

export function pacedPrompt(deltas: number): string {
  return `[long:${deltas}] [stamp] A paced answer.`;
}

export async function specsFor(target: Target, users: User[], n: number, prompt: string): Promise<StreamSpec[]> {
  const timeoutMs = 120_000;
  return Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const user = users[i % users.length];
      if (target.kind === "gateway") return gatewaySpec(target.url, user.token, prompt, timeoutMs);
      const chatId = randomUUID();
      const token = await signInternalToken(secrets.NEXTJS_INTERNAL_TOKEN, { userId: user.id, chatId });
      return uiSpec(target.url, token, chatId, prompt, timeoutMs);
    }),
  );
}

/** Opens `specs` spread over the load children (round robin) and over `rampMs`; every result. */
export async function openSpread(loaders: Loaders, specs: StreamSpec[], rampMs: number): Promise<StreamResult[]> {
  const parts = loaders.children.map(() => [] as StreamSpec[]);
  for (const [i, spec] of specs.entries()) parts[i % parts.length].push(spec);
  const results = await Promise.all(
    loaders.children.map((child, i) =>
      parts[i].length === 0 ? [] : child.call<StreamResult[]>("open", { specs: parts[i], rampMs }, 600_000),
    ),
  );
  return results.flat();
}

export interface PacedRow {
  label: string;
  streams: number;
  finished: number;
  /** Refused with offline:chat and a retry hint (overload). */
  refused: number;
  failed: number;
  failures: string[];
  deltas: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU µs per delivered delta. */
  cpuPerDelta: { target: number; streamer: number; postgres: number | null; clients: number };
  /** Client CPU as a share of one core over the run (near 1: the clients limit the run). */
  clientCoreShare: number;
  /** The whole machine's busy CPU over the run's wall time, in cores; null where it cannot tell. */
  machineCores: number | null;
  /** Peak RSS over the idle RSS before the run, per stream, bytes. */
  rssPerStream: number;
  /** Live heap at `liveHeapAtMs` into the run over the live heap before it, per stream, bytes; null when not asked. */
  livePerStream: number | null;
  wallMs: number;
}

/** One paced run: `specs` through `target`, with CPU and peak RSS of each process. */
export async function pacedRun(
  target: Target,
  loaders: Loaders,
  specs: StreamSpec[],
  rampMs: number,
  { liveHeapAtMs }: { liveHeapAtMs?: number } = {},
) {
  const clientPids = loaders.children.map((child) => child.pid);
  const idleLive = liveHeapAtMs === undefined ? null : ((await target.liveHeapBytes?.()) ?? null);
  let runningLive: Promise<number | null> = Promise.resolve(null);
  const idleRss = target.rssBytes();
  let peakRss = idleRss;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peakRss = Math.max(peakRss, target.rssBytes());
      await sleep(250);
    }
  })();
  const before = {
    target: target.cpuMs(),
    streamer: procCpuMs([loaders.streamerPid]),
    postgres: postgresCpu(),
    clients: procCpuMs(clientPids),
    machine: machineBusyMs(),
    at: performance.now(),
  };
  if (idleLive !== null && liveHeapAtMs !== undefined) {
    runningLive = sleep(liveHeapAtMs).then(async () => (await target.liveHeapBytes?.()) ?? null);
  }
  const results = await openSpread(loaders, specs, rampMs).finally(() => (sampling = false));
  await sampler;
  const live = await runningLive;
  const wallMs = performance.now() - before.at;
  printTimeline(`${target.label}, ${specs.length} streams`, results);
  const latencies: number[] = [];
  let deltas = 0;
  const failures: string[] = [];
  let finished = 0;
  let refused = 0;
  for (const result of results) {
    deltas += result.deltas;
    for (const latency of result.latencies) latencies.push(latency);
    const outcome = outcomeOf(result);
    if (outcome === "finished") finished++;
    else if (outcome === "refused") refused++;
    else failures.push(`${result.status}: ${result.detail}`);
  }
  const perDelta = (ms: number) => (deltas > 0 ? (ms * 1000) / deltas : Number.NaN);
  const postgres = postgresCpuBetween(before.postgres, postgresCpu());
  const clientsMs = procCpuMs(clientPids) - before.clients;
  const machineMs = machineBusyMs();
  const row: PacedRow = {
    label: target.label,
    streams: specs.length,
    finished,
    refused,
    failed: failures.length,
    failures: [...new Set(failures)].slice(0, 5),
    deltas,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: maximum(latencies),
    cpuPerDelta: {
      target: perDelta(target.cpuMs() - before.target),
      streamer: perDelta(procCpuMs([loaders.streamerPid]) - before.streamer),
      postgres: postgres === null ? null : perDelta(postgres),
      clients: perDelta(clientsMs),
    },
    clientCoreShare: clientsMs / wallMs / Math.max(1, clientPids.length),
    machineCores: machineMs === null || before.machine === null ? null : (machineMs - before.machine) / wallMs,
    rssPerStream: (peakRss - idleRss) / specs.length,
    livePerStream: idleLive === null || live === null ? null : (live - idleLive) / specs.length,
    wallMs,
  };
  return { row, results };
}

/** How a stream ended: finished, refused for overload (offline:chat with a retry hint), or failed. */
export function outcomeOf(result: StreamResult): "finished" | "refused" | "failed" {
  if (result.status === "finished") return "finished";
  return result.errorCode === "offline:chat" && (result.retryAfterSeconds ?? 0) > 0 ? "refused" : "failed";
}

/** A target served by a bench child (the pipe), read from /proc. */
export function childTarget(kind: Target["kind"], label: string, child: BenchChild): Target {
  return {
    kind,
    label,
    url: child.url,
    cpuMs: () => procCpuMs([child.pid]),
    rssBytes: () => procRssBytes([child.pid]),
  };
}
