// Sustained streams for bench/capacity.ts: a fixed number of slots, each
// opening its next paced turn as its last one ends, for a while. Turns start
// at the steady rate of that many concurrent streams (slots / turn length a
// second), not in one burst, and the measured window is the time when every
// slot is busy: after the first turn length, until the slots stop reopening.
// It shows what a long run at that concurrency costs, and what grows with the
// turns served (memory held by ended turns) rather than with those running.
import { setTimeout as sleep } from "node:timers/promises";
import type { StreamResult, StreamSpec } from "./client.ts";
import { machineBusyMs, postgresCpu, postgresCpuBetween, procCpuMs } from "./cpu.ts";
import { type Loaders, outcomeOf, type Target } from "./paced.ts";
import { printTimeline } from "./latency-timeline.ts";
import { maximum, percentile } from "./stats.ts";
import { clock } from "./trace.ts";

export interface SustainedRow {
  label: string;
  slots: number;
  /** The whole run's turns (ramp and drain too), as `finished`, `refused` and `failed`. */
  turns: number;
  finished: number;
  refused: number;
  failed: number;
  failures: string[];
  /** Turns ended per second in the window. */
  turnsPerSecond: number;
  /** Deltas sent in the window, and their latency, ms. */
  deltas: number;
  p50: number;
  p99: number;
  max: number;
  /** Request to first text delta of the turns opened in the window, ms. */
  firstDeltaP50: number;
  firstDeltaP99: number;
  /** CPU µs per delta over the window. */
  cpuPerDelta: { target: number; streamer: number; postgres: number | null; clients: number };
  /** The whole machine's busy CPU over the window, in cores; null where it cannot tell. */
  machineCores: number | null;
  /** RSS over the idle RSS before the run, at the window's start and end, bytes. */
  rssAtStart: number;
  rssAtEnd: number;
  /** Live heap after a full collection at the window's start and end (BENCH_LIVE_HEAP=1), bytes; null when not asked. */
  liveAtStart: number | null;
  liveAtEnd: number | null;
  /** Turns ended in the window. */
  endedInWindow: number;
}

interface Snapshot {
  at: number;
  target: number;
  streamer: number;
  postgres: ReturnType<typeof postgresCpu>;
  clients: number;
  machine: number | null;
  rss: number;
  live: number | null;
}

/** One sustained run: `specs` are the slots (one turn each, renewed by the load children), through `target`. */
export async function sustainedRun(
  target: Target,
  loaders: Loaders,
  specs: StreamSpec[],
  { rampMs, durationMs, liveHeap }: { rampMs: number; durationMs: number; liveHeap: boolean },
): Promise<SustainedRow> {
  const clientPids = loaders.children.map((child) => child.pid);
  const idleRss = target.rssBytes();
  const idleLive = liveHeap ? ((await target.liveHeapBytes?.()) ?? null) : null;
  // The first snapshot collects before it reads the CPU, the last after: neither
  // full collection (BENCH_LIVE_HEAP=1) falls inside the window's CPU.
  const snapshot = async (which: "first" | "last"): Promise<Snapshot> => {
    const collected = async () => (idleLive === null ? null : ((await target.liveHeapBytes?.()) ?? null));
    const early = which === "first" ? await collected() : null;
    const taken = {
      at: clock(),
      target: target.cpuMs(),
      streamer: procCpuMs([loaders.streamerPid]),
      postgres: postgresCpu(),
      clients: procCpuMs(clientPids),
      machine: machineBusyMs(),
      rss: target.rssBytes(),
    };
    return { ...taken, live: which === "first" ? early : await collected() };
  };
  const parts = loaders.children.map(() => [] as StreamSpec[]);
  for (const [i, spec] of specs.entries()) parts[i % parts.length].push(spec);
  const started = clock();
  const running = Promise.all(
    loaders.children.map((child, i) =>
      parts[i].length === 0
        ? []
        : child.call<StreamResult[]>("sustain", { specs: parts[i], rampMs, durationMs }, durationMs + 600_000),
    ),
  );
  await sleep(rampMs);
  const first = await snapshot("first");
  await sleep(Math.max(0, started + durationMs - clock()));
  const last = await snapshot("last");
  const results = (await running).flat();
  printTimeline(`${target.label}, ${specs.length} slots`, results);

  const latencies: number[] = [];
  const failures: string[] = [];
  let finished = 0;
  let refused = 0;
  let endedInWindow = 0;
  const firstDeltas: number[] = [];
  for (const result of results) {
    if (result.t0 >= first.at && result.t0 <= last.at && result.firstDelta !== null) {
      firstDeltas.push(result.firstDelta - result.t0);
    }
    const outcome = outcomeOf(result);
    if (outcome === "finished") finished++;
    else if (outcome === "refused") refused++;
    else failures.push(`${result.status}: ${result.detail}`);
    if (result.end >= first.at && result.end <= last.at) endedInWindow++;
    result.sentAt.forEach((sent, i) => {
      if (sent >= first.at && sent <= last.at) latencies.push(result.latencies[i]);
    });
  }
  const perDelta = (ms: number) => (latencies.length > 0 ? (ms * 1000) / latencies.length : Number.NaN);
  const postgres = postgresCpuBetween(first.postgres, last.postgres);
  return {
    label: target.label,
    slots: specs.length,
    turns: results.length,
    finished,
    refused,
    failed: failures.length,
    failures: [...new Set(failures)].slice(0, 5),
    turnsPerSecond: endedInWindow / ((last.at - first.at) / 1000),
    deltas: latencies.length,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    max: maximum(latencies),
    firstDeltaP50: percentile(firstDeltas, 50),
    firstDeltaP99: percentile(firstDeltas, 99),
    cpuPerDelta: {
      target: perDelta(last.target - first.target),
      streamer: perDelta(last.streamer - first.streamer),
      postgres: postgres === null ? null : perDelta(postgres),
      clients: perDelta(last.clients - first.clients),
    },
    machineCores:
      first.machine === null || last.machine === null ? null : (last.machine - first.machine) / (last.at - first.at),
    rssAtStart: first.rss - idleRss,
    rssAtEnd: last.rss - idleRss,
    liveAtStart: idleLive === null || first.live === null ? null : first.live - idleLive,
    liveAtEnd: idleLive === null || last.live === null ? null : last.live - idleLive,
    endedInWindow,
  };
}
