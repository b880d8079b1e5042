// The compare section of bench/capacity.ts: this tree's gateway against
// another (BENCH_COMPARE_SERVER, a checkout's src/server.ts) or against this
// tree with other Node flags or settings (BENCH_COMPARE_FLAGS, BENCH_COMPARE_ENV
// "K=V ..."), on one streamer and database, in alternating order.
import { pacedTable, pipeMean } from "./capacity-report.ts";
import type { PacedRow, Target } from "./paced.ts";
import { fixed } from "./stats.ts";

/** What the other gateway is: another server, and its flags and settings. */
export interface CompareOther {
  server: string | undefined;
  flags: string[];
  env: Record<string, string>;
  /** Its flags and settings as one line ("" when none). */
  note: string;
}

/** The other gateway as the BENCH_COMPARE_* settings describe it; null when they name nothing to compare. */
export function compareOther(): CompareOther | null {
  const server = process.env.BENCH_COMPARE_SERVER || undefined;
  const flags = process.env.BENCH_COMPARE_FLAGS?.split(" ").filter(Boolean) ?? [];
  const env = Object.fromEntries(
    (process.env.BENCH_COMPARE_ENV?.split(" ").filter(Boolean) ?? []).map(
      (pair) => pair.split("=", 2) as [string, string],
    ),
  );
  const note = [...flags, ...Object.entries(env).map(([k, v]) => `${k}=${v}`)].join(" ");
  return !server && note === "" ? null : { server, flags, env, note };
}

/**
 * For each stream count: an unmeasured warm-up run through each gateway
 * (V8's warm-up stays out of their first measured runs), then `rounds`
 * rounds in compareOrder, the pipe before and after; a table and a summary each.
 */
export async function measureCompare(options: {
  a: Target;
  b: Target;
  pipe: Target;
  other: CompareOther;
  streams: number[];
  rounds: number;
  settings: { pace: number; deltas: number; rampMs: number };
  run: (target: Target, n: number) => Promise<PacedRow>;
  progress: (message: string) => void;
}): Promise<string[]> {
  const { a, b, pipe, other, run, progress } = options;
  const output: string[] = [];
  for (const n of options.streams) {
    for (const target of [a, b]) {
      progress(`compare: warm-up, ${Math.min(n, 100)} streams through the ${target.label}`);
      await run(target, Math.min(n, 100));
    }
    const rows = [];
    for (const target of [pipe, ...compareOrder(a, b, options.rounds), pipe]) {
      progress(`compare: ${n} streams through the ${target.label}`);
      rows.push(await run(target, n));
    }
    output.push(pacedTable(`Compare (${other.server ?? "this tree"} ${other.note})`, rows, options.settings));
    output.push(compareSummary(rows, a.label, b.label));
  }
  return output;
}
/**
 * The measured order of a compare: A B B A, then B A A B, and so on. Runs
 * of one gateway differ by their place in the order (the later in a compare,
 * the cheaper a run has tended to be, as every process's own warm-up ends),
 * so each gateway takes each place as often as the other.
 */
export function compareOrder<T>(a: T, b: T, rounds: number): T[] {
  return Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? [a, b, b, a] : [b, a, a, b])).flat();
}

/** Each gateway's CPU per delta and p99 over its runs of a compare (mean, min–max), and B over A. */
export function compareSummary(rows: PacedRow[], aLabel: string, bLabel: string): string {
  const of = (label: string) => rows.filter((row) => row.label === label);
  const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / Math.max(1, values.length);
  const describe = (values: number[], digits: number) =>
    `${fixed(mean(values), digits)} (${fixed(Math.min(...values), digits)}–${fixed(Math.max(...values), digits)})`;
  const [a, b] = [of(aLabel), of(bLabel)];
  const cpu = (runs: PacedRow[]) => runs.map((row) => row.cpuPerDelta.target);
  const p99 = (runs: PacedRow[]) => runs.map((row) => row.p99);
  const pipe = rows.length > 0 ? pipeMean(rows, rows[0].streams) : null;
  return [
    `   over ${a.length} runs each: CPU µs per delta, mean (min–max): A ${describe(cpu(a), 1)}, B ${describe(cpu(b), 1)}, B / A ${fixed(mean(cpu(b)) / mean(cpu(a)))};`,
    `   p99 ms: A ${describe(p99(a), 1)}, B ${describe(p99(b), 1)}. A: ${aLabel}; B: ${bLabel}.`,
    pipe
      ? `   against the pipe's mean (${fixed(pipe.cpu, 1)} µs, p99 ${fixed(pipe.p99, 1)} ms): CPU A ${fixed(mean(cpu(a)) / pipe.cpu)}×, B ${fixed(mean(cpu(b)) / pipe.cpu)}×.`
      : "",
  ]
    .filter(Boolean)
    .join("\n");
}
