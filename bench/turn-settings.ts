// Settings and checks shared by the sections of `npm run bench` (bench/turn.ts).
import type { StreamResult } from "./client.ts";
import { intSetting } from "./setup.ts";

// ---------------------------------------------------------------- settings

export const settings = {
  turns: intSetting("BENCH_TURNS", 200),
  // Measured at 30 warm-up turns, the first-delta figures still included V8
  // warming the code up: about 1 ms more on every path than after 300.
  warmup: intSetting("BENCH_WARMUP", 300),
  traceTurns: intSetting("BENCH_TRACE_TURNS", 60),
  concurrency: (process.env.BENCH_CONCURRENCY ?? "1,50,500").split(",").map((c) => {
    const n = Number(c.trim());
    if (!Number.isInteger(n) || n < 1)
      throw new Error("BENCH_CONCURRENCY is a comma-separated list of positive integers");
    return n;
  }),
  seconds: intSetting("BENCH_SECONDS", 3),
  longDeltas: intSetting("BENCH_LONG", 200),
  hold: intSetting("BENCH_HOLD", 200),
  cpuTurns: intSetting("BENCH_CPU_TURNS", 100),
};
export const TIME_LIMIT_MS = 175_000;
export const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((s) => s.trim())) : null;
export const runs = (section: string) => only === null || only.has(section);
export const SECTIONS = ["first-delta", "trace", "throughput", "heap", "cpu"];
export const PLAIN_PROMPT = "[plain] How long until the first word?";
export const LONG_PROMPT = `[long:${settings.longDeltas}] Tell me everything.`;
export const TURN_TIMEOUT_MS = 15_000;
export const LOAD_TURN_TIMEOUT_MS = 60_000;

export const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Turns that did not end as expected, and other problems; any of them makes the exit code 1. */
export const failures = new Map<string, number>();
export function fail(problem: string): void {
  failures.set(problem, (failures.get(problem) ?? 0) + 1);
}
export function check(result: StreamResult, what: string, expectedDeltas?: number): boolean {
  let problem: string | null = null;
  if (result.status !== "finished") problem = `${result.status}: ${result.detail}`;
  else if (result.firstDelta === null) problem = "no text delta";
  else if (expectedDeltas !== undefined && result.deltas !== expectedDeltas) {
    problem = `${result.deltas} text deltas, expected ${expectedDeltas}`;
  }
  if (problem === null) return true;
  fail(`${what}: ${problem}`);
  return false;
}
