// Sections 1 and 1b of `npm run bench` (bench/turn.ts): time to the first delta, and its stages.
import type { StreamResult } from "./client.ts";
import { fixed, median, percentile, signed, table } from "./stats.ts";
import type { TraceEvent } from "./trace.ts";
import { type PathName, type Paths, rotate, runTurn } from "./turn-paths.ts";
import { check, PLAIN_PROMPT, progress, settings, TURN_TIMEOUT_MS } from "./turn-settings.ts";

// ---------------------------------------------------------------- 1. first delta

export interface LatencyResult {
  samples: Record<PathName, number[]>;
}

export async function measureFirstDelta(paths: Paths): Promise<LatencyResult> {
  const order: PathName[] = ["gateway", "pipe", "streamer"];
  progress(`first delta: ${settings.warmup} warm-up + ${settings.turns} measured turns per path, interleaved`);
  const samples: Record<PathName, number[]> = { gateway: [], pipe: [], streamer: [] };
  for (let i = 0; i < settings.warmup + settings.turns; i++) {
    for (let k = 0; k < order.length; k++) {
      // Rotate who goes first, so no path always follows another.
      const path = order[(i + k) % order.length];
      const result = await runTurn(paths, path, rotate(paths), PLAIN_PROMPT, TURN_TIMEOUT_MS);
      if (check(result, `first-delta ${path}`) && i >= settings.warmup) {
        samples[path].push(result.firstDelta! - result.t0);
      }
    }
  }
  return { samples };
}

// ---------------------------------------------------------------- 1b. trace

export interface TraceStage {
  label: string;
  gateway: number[];
  streamer: number[];
}

export function firstAt(events: TraceEvent[], name: string, from: number, to: number): number | undefined {
  for (const [event, at] of events) if (event === name && at >= from && at <= to) return at;
  return undefined;
}

export async function traceFirstDelta(paths: Paths): Promise<{ stages: TraceStage[]; turns: number }> {
  const { gateway, streamer } = paths.stack;
  progress(`trace pass: ${settings.traceTurns} turns per path with stage stamps`);
  const results: { path: PathName; result: StreamResult }[] = [];
  await Promise.all([gateway.call("trace-start"), streamer.call("trace-start")]);
  let gatewayEvents: TraceEvent[] = [];
  let streamerEvents: TraceEvent[] = [];
  try {
    for (let i = 0; i < settings.traceTurns; i++) {
      for (const path of (i % 2 ? ["gateway", "streamer"] : ["streamer", "gateway"]) as PathName[]) {
        const result = await runTurn(paths, path, rotate(paths), PLAIN_PROMPT, TURN_TIMEOUT_MS);
        if (check(result, `trace ${path}`)) results.push({ path, result });
      }
    }
  } finally {
    [gatewayEvents, streamerEvents] = await Promise.all([
      gateway.call<TraceEvent[]>("trace-stop"),
      streamer.call<TraceEvent[]>("trace-stop"),
    ]);
  }

  const stage = (label: string): TraceStage => ({ label, gateway: [], streamer: [] });
  const stages = {
    inbound: stage("client -> first hop has the request"),
    beforeTx: stage("gateway: HTTP, Yoga, auth, input checks"),
    tx: stage("gateway: beginTurn statement (checks and first writes)"),
    afterTx: stage("gateway: turn start, token, upstream request"),
    upstream: stage("gateway -> streamer has the request"),
    streamerWork: stage("streamer: request -> first text-delta written"),
    back: stage("streamer -> gateway has the delta chunk"),
    map: stage("gateway: chunk -> TextDelta written"),
    outbound: stage("last hop -> client reads the first delta"),
    total: stage("total (client request -> first delta)"),
  };
  const push = (into: number[], from: number | undefined, to: number | undefined) => {
    if (from !== undefined && to !== undefined) into.push(to - from);
  };
  for (const { path, result } of results) {
    const { t0, end } = result;
    const c1 = result.firstDelta!;
    const sReq = firstAt(streamerEvents, "req", t0, end);
    const sDelta = firstAt(streamerEvents, "write:delta", t0, end);
    if (path === "streamer") {
      push(stages.inbound.streamer, t0, sReq);
      push(stages.streamerWork.streamer, sReq, sDelta);
      push(stages.outbound.streamer, sDelta, c1);
      push(stages.total.streamer, t0, c1);
      continue;
    }
    const gReq = firstAt(gatewayEvents, "req", t0, end);
    const txStart = gReq === undefined ? undefined : firstAt(gatewayEvents, "tx:start", gReq, end);
    const txEnd = txStart === undefined ? undefined : firstAt(gatewayEvents, "tx:end", txStart, end);
    const upCreate = firstAt(gatewayEvents, "up:create", t0, end);
    const upDelta = firstAt(gatewayEvents, "up:delta", t0, end);
    const gWrite = firstAt(gatewayEvents, "write:delta", t0, end);
    push(stages.inbound.gateway, t0, gReq);
    push(stages.beforeTx.gateway, gReq, txStart);
    push(stages.tx.gateway, txStart, txEnd);
    push(stages.afterTx.gateway, txEnd, upCreate);
    push(stages.upstream.gateway, upCreate, sReq);
    push(stages.streamerWork.gateway, sReq, sDelta);
    push(stages.back.gateway, sDelta, upDelta);
    push(stages.map.gateway, upDelta, gWrite);
    push(stages.outbound.gateway, gWrite, c1);
    push(stages.total.gateway, t0, c1);
  }
  return { stages: Object.values(stages), turns: results.length / 2 };
}

export function latencyTable(latency: LatencyResult): string {
  const base = median(latency.samples.streamer);
  const rows = (["gateway", "pipe", "streamer"] as PathName[]).map((path) => {
    const samples = latency.samples[path];
    const label = { gateway: "gateway (sendMessage SSE)", pipe: "byte-pipe proxy", streamer: "streamer direct" }[path];
    return [
      label,
      String(samples.length),
      fixed(percentile(samples, 50)),
      fixed(percentile(samples, 90)),
      fixed(percentile(samples, 99)),
      fixed(Math.max(...samples)),
      path === "streamer" ? "" : signed(percentile(samples, 50) - base),
    ];
  });
  const overhead = median(latency.samples.gateway) - base;
  return [
    table(
      `1. Time to first text delta, ms ([plain], sequential turns, each in a new chat, after ${settings.warmup} warm-up turns)`,
      ["path", "turns", "p50", "p90", "p99", "max", "p50 vs direct"],
      rows,
    ),
    `   gateway overhead (gateway p50 - streamer p50): ${fixed(overhead)} ms; pipe overhead: ${fixed(median(latency.samples.pipe) - base)} ms`,
    // The machine's speed drifts between runs, even within an hour; the ratio
    // to the streamer's own time, measured alongside, drifts less (BENCHMARKS.md).
    `   gateway overhead / streamer p50: ${fixed(overhead / base)}`,
  ].join("\n");
}

export function traceTable(trace: { stages: TraceStage[]; turns: number }): string {
  const cell = (values: number[], p: number) => (values.length ? fixed(percentile(values, p)) : "");
  return [
    table(
      `1b. Where the first-delta time goes, ms (traced pass, ${trace.turns} turns per path; stage medians do not add up to the total median)`,
      ["stage", "gateway p50", "p90", "direct p50", "p90"],
      trace.stages.map((s) => [
        s.label,
        cell(s.gateway, 50),
        cell(s.gateway, 90),
        cell(s.streamer, 50),
        cell(s.streamer, 90),
      ]),
    ),
    "   stamps: http.server.request.start, undici diagnostics channels, ServerResponse#write and the gateway's db.statement tracing channel",
    "   wrappers in the children (bench/trace.ts), on the system-wide monotonic clock; tracing itself adds a little time.",
  ].join("\n");
}
