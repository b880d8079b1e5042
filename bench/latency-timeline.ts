// BENCH_TIMELINE=1: a paced run's delta latency second by second (by the
// streamer's send time), beside the turns opened and ended in that second,
// to tell a run's tail from its steady state.
import type { StreamResult } from "./client.ts";
import { fixed, maximum, percentile, table } from "./stats.ts";

/** The timeline on stderr when BENCH_TIMELINE=<ms> asks for one. */
export function printTimeline(label: string, results: readonly StreamResult[]): void {
  const bucketMs = Number(process.env.BENCH_TIMELINE ?? 0);
  if (bucketMs > 0) console.error(latencyTimeline(label, results, bucketMs));
}

function latencyTimeline(label: string, results: readonly StreamResult[], bucketMs = 1_000): string {
  if (results.length === 0) return `${label}: no stream`;
  const start = results.reduce((earliest, r) => Math.min(earliest, r.t0), Number.POSITIVE_INFINITY);
  const buckets = new Map<number, { latencies: number[]; opened: number; ended: number }>();
  const bucket = (at: number) => {
    const key = Math.floor((at - start) / bucketMs);
    let entry = buckets.get(key);
    if (!entry) buckets.set(key, (entry = { latencies: [], opened: 0, ended: 0 }));
    return entry;
  };
  for (const result of results) {
    bucket(result.t0).opened++;
    bucket(result.end).ended++;
    for (let i = 0; i < result.latencies.length; i++) bucket(result.sentAt[i]).latencies.push(result.latencies[i]);
  }
  const rows = [...buckets]
    .sort(([a], [b]) => a - b)
    .map(([key, { latencies, opened, ended }]) => [
      fixed((key * bucketMs) / 1000, 1),
      String(opened),
      String(ended),
      String(latencies.length),
      fixed(percentile(latencies, 50)),
      fixed(percentile(latencies, 99)),
      fixed(maximum(latencies)),
    ]);
  return table(
    `${label}: delta latency by when it was sent, in intervals of ${bucketMs} ms; ms`,
    ["from s", "opened", "ended", "deltas", "p50", "p99", "max"],
    rows,
  );
}
