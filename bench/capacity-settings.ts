// Settings and run state of `npm run bench:capacity` (bench/capacity.ts).
import type { BenchChild } from "./children.ts";
import type { GatewayProcess } from "./server-process.ts";
import { type BenchDatabase, intSetting } from "./setup.ts";

export function listSetting(name: string, fallback: string): number[] {
  return (process.env[name] || fallback).split(",").map((part) => {
    const n = Number(part.trim());
    if (!Number.isInteger(n) || n < 0) throw new Error(`${name} is a comma-separated list of integers`);
    return n;
  });
}

export function streamerSetting(): "lean" | "builtin" {
  const value = process.env.BENCH_STREAMER || "lean";
  if (value !== "lean" && value !== "builtin") throw new Error("BENCH_STREAMER is lean or builtin");
  return value;
}

export const settings = {
  pace: intSetting("BENCH_PACE", 10),
  deltas: intSetting("BENCH_PACED_DELTAS", 60),
  streams: listSetting("BENCH_PACED_STREAMS", "250,500,1000"),
  warmupStreams: intSetting("BENCH_PACED_WARMUP", 250),
  rampMs: intSetting("BENCH_RAMP_MS", 2_000),
  clients: Math.max(1, intSetting("BENCH_CLIENT_PROCESSES", 4)),
  resumers: listSetting("BENCH_RESUMERS", "1,100,1000"),
  overloadLimit: intSetting("BENCH_OVERLOAD_LIMIT", 250),
  workers: listSetting("BENCH_WORKERS", "1,2"),
  workersStreams: intSetting("BENCH_WORKERS_STREAMS", 1000),
  compareRounds: Math.max(1, intSetting("BENCH_COMPARE_ROUNDS", 2)),
  sustainedStreams: intSetting("BENCH_SUSTAINED_STREAMS", 1000),
  sustainedSeconds: intSetting("BENCH_SUSTAINED_SECONDS", 60),
  historyChats: intSetting("BENCH_HISTORY_CHATS", 10_000),
  streamer: streamerSetting(),
  redis: {
    warmup: intSetting("BENCH_WARMUP", 200),
    turns: intSetting("BENCH_TURNS", 200),
    streams: 50,
    seconds: 3,
    longDeltas: 200,
  },
};
export const ALL = ["resume", "redis", "paced", "sustained", "overload", "workers", "compare"];
// BENCH_ONLY, when set, replaces the script's default sections (its arguments).
export const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim());
export const chosen = only ?? (process.argv.slice(2).length ? process.argv.slice(2) : ALL);
export const sections = ALL.filter((s) => chosen.includes(s));
export const progress = (message: string) => process.stderr.write(`bench:capacity: ${message}\n`);

export const failures: string[] = [];
export const fail = (problem: string) => failures.push(problem);
export const output: string[] = [];
export const children: BenchChild[] = [];
export const gateways: GatewayProcess[] = [];
export const databases: BenchDatabase[] = [];
