// Tables for bench/capacity.ts.
import { availableParallelism } from "node:os";
import type { PacedRow } from "./paced.ts";
import { fixed, kb, mb, table } from "./stats.ts";
import type { SustainedRow } from "./sustained.ts";

export interface ResumeRow {
  resumers: number;
  senderP50: number;
  senderP99: number;
  resumerP50: number;
  resumerP99: number;
  finished: number;
  liveDeltas: number;
}

export function resumeTable(rows: ResumeRow[], deltas: number, pace: number): string {
  const alone = rows.filter((row) => row.resumers === 0);
  const aloneP99 = alone.reduce((sum, row) => sum + row.senderP99, 0) / Math.max(1, alone.length);
  return [
    table(
      `Resume fan-out: one paced turn (${deltas} deltas at ${pace}/s) and N resumeStream subscribers from its start; delta latency, ms`,
      [
        "resumers",
        "finished",
        "sender p50",
        "sender p99",
        "resumers p50",
        "resumers p99",
        "live deltas",
        "sender p99 added / resumer",
      ],
      rows.map((row) => [
        String(row.resumers),
        String(row.finished),
        fixed(row.senderP50),
        fixed(row.senderP99),
        fixed(row.resumerP50),
        fixed(row.resumerP99),
        String(row.liveDeltas),
        row.resumers === 0 ? "" : `${fixed(((row.senderP99 - aloneP99) / row.resumers) * 1000, 1)} µs`,
      ]),
    ),
    `   sender alone (rows with 0, before and after): p99 ${fixed(aloneP99)} ms. Resumers count the deltas sent after they subscribed.`,
  ].join("\n");
}

export function pacedTable(
  title: string,
  rows: PacedRow[],
  settings: { pace: number; deltas: number; rampMs: number },
): string {
  const pipeOf = (row: PacedRow) => pipeMean(rows, row.streams);
  const live = rows.some((row) => row.livePerStream !== null);
  return [
    table(
      `${title} (${settings.deltas} deltas at ${settings.pace}/s each, streams opened over ${settings.rampMs / 1000} s); latency ms from the streamer's send, CPU µs per delta`,
      [
        "path",
        "streams",
        "finished",
        "refused",
        "failed",
        "p50",
        "p99",
        "max",
        "CPU/delta",
        "vs pipe",
        "p99 - pipe",
        "streamer",
        "PostgreSQL",
        "clients",
        "client core",
        "machine cores",
        "RSS KB/stream",
        ...(live ? ["live KB/stream"] : []),
      ],
      rows.map((row) => {
        const pipe = row.label === PIPE ? null : pipeOf(row);
        return [
          row.label,
          String(row.streams),
          String(row.finished),
          String(row.refused),
          String(row.failed),
          fixed(row.p50),
          fixed(row.p99),
          fixed(row.max),
          ...againstPipe(row, pipe),
          fixed(row.clientCoreShare),
          row.machineCores === null ? "n/a" : fixed(row.machineCores),
          kb(row.rssPerStream),
          ...(live ? [row.livePerStream === null ? "" : kb(row.livePerStream)] : []),
        ];
      }),
    ),
    "   'vs pipe' and 'p99 - pipe': against the mean of the pipe's runs at that count (before and after: the machine drifts).",
    "   CPU of each process from /proc (a gateway's primary and its workers together); 'client core': each load process's",
    "   CPU over the wall time (near 1.00, the clients limit the run); RSS: peak during the run over the idle RSS before it.",
    `   'machine cores': the whole machine's busy CPU (every process, the kernel) over the run's wall time, of ${availableParallelism()}.`,
    ...(live
      ? [
          "   live: heap and external memory left after a full collection halfway through the turns, over the same before the",
          "   run (BENCH_LIVE_HEAP=1; each collection pauses the gateway, so read latency from a run without it).",
        ]
      : []),
  ].join("\n");
}

export const PIPE = "byte-pipe proxy";

/** What a paced and a sustained row share: the figures put beside the pipe's. */
interface Measured {
  label: string;
  p99: number;
  cpuPerDelta: { target: number; streamer: number; postgres: number | null; clients: number };
}

/** The pipe's CPU per delta and p99 at `streams`, the mean of its runs there; null when it has none. */
export function pipeMean(rows: PacedRow[], streams: number): { cpu: number; p99: number } | null {
  return pipeMeanOf(rows.filter((r) => r.streams === streams));
}

/** The mean CPU per delta and p99 of the pipe's runs among `rows`; null when it has none. */
function pipeMeanOf(rows: Measured[]): { cpu: number; p99: number } | null {
  const runs = rows.filter((r) => r.label === PIPE);
  if (runs.length === 0) return null;
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  return { cpu: mean(runs.map((r) => r.cpuPerDelta.target)), p99: mean(runs.map((r) => r.p99)) };
}

/** The cells CPU/delta, vs pipe, p99 - pipe, streamer, PostgreSQL and clients (the comparisons empty without `pipe`). */
function againstPipe(row: Measured, pipe: { cpu: number; p99: number } | null): string[] {
  return [
    fixed(row.cpuPerDelta.target, 1),
    pipe ? fixed(row.cpuPerDelta.target / pipe.cpu) : "",
    pipe ? fixed(row.p99 - pipe.p99) : "",
    fixed(row.cpuPerDelta.streamer, 1),
    row.cpuPerDelta.postgres === null ? "n/a" : fixed(row.cpuPerDelta.postgres, 1),
    fixed(row.cpuPerDelta.clients, 1),
  ];
}

export function sustainedTable(
  rows: SustainedRow[],
  settings: { pace: number; deltas: number; rampMs: number; durationMs: number },
): string {
  const pipe = pipeMeanOf(rows);
  const live = rows.some((row) => row.liveAtStart !== null);
  return [
    table(
      `Sustained streams: each slot opens a turn of ${settings.deltas} deltas at ${settings.pace}/s as its last ends, for ${settings.durationMs / 1000} s, slots started over ${settings.rampMs / 1000} s; figures over the window when every slot is busy; latency ms, CPU µs per delta`,
      [
        "path",
        "slots",
        "turns",
        "finished",
        "refused",
        "failed",
        "turns/s",
        "p50",
        "p99",
        "max",
        "first p50",
        "first p99",
        "CPU/delta",
        "vs pipe",
        "p99 - pipe",
        "streamer",
        "PostgreSQL",
        "clients",
        "machine cores",
        "RSS MB start",
        "RSS MB end",
        ...(live ? ["live MB start", "live MB end", "live KB/turn"] : []),
      ],
      rows.map((row) => [
        row.label,
        String(row.slots),
        String(row.turns),
        String(row.finished),
        String(row.refused),
        String(row.failed),
        fixed(row.turnsPerSecond, 1),
        fixed(row.p50),
        fixed(row.p99),
        fixed(row.max),
        fixed(row.firstDeltaP50),
        fixed(row.firstDeltaP99),
        ...againstPipe(row, row.label === PIPE ? null : pipe),
        row.machineCores === null ? "n/a" : fixed(row.machineCores),
        mb(row.rssAtStart),
        mb(row.rssAtEnd),
        ...(live
          ? row.liveAtStart === null || row.liveAtEnd === null
            ? ["", "", ""]
            : [
                mb(row.liveAtStart),
                mb(row.liveAtEnd),
                kb((row.liveAtEnd - row.liveAtStart) / Math.max(1, row.endedInWindow)),
              ]
          : []),
      ]),
    ),
    "   first: request to first text delta of the turns opened in the window (the streamer waits one pace before it).",
    "   'vs pipe' and 'p99 - pipe': against the mean of the pipe's runs (before and after). RSS and live heap: over the",
    "   idle process before the run, at the window's start and end; live KB/turn: the live heap's growth over the window",
    "   per turn ended in it (near 0: ended turns are let go; BENCH_LIVE_HEAP=1, whose collections pause the gateway).",
    `   'machine cores': the whole machine's busy CPU (every process, the kernel) over the window, of ${availableParallelism()}.`,
  ].join("\n");
}
