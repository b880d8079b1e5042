// `npm run bench`: the streaming turn through the gateway, beside baselines
// measured in the same run on the same machine.
//
//   1. Time to the first text delta: gateway vs a byte-pipe proxy vs straight
//      to the streamer ([plain] prompt, sequential turns, interleaved), plus a
//      traced pass that splits the gateway's time into stages.
//   2. Text deltas per second at 1, 50 and 500 concurrent streams ([long]
//      prompt): gateway vs the byte-pipe proxy of the same streamer stream.
//   3. Heap per open stream (streams held mid-turn): gateway vs the pipe.
//   4. CPU per turn of every process (gateway, pipe, streamer, PostgreSQL,
//      client), [plain] and [long] turns per path: the work itself, without the
//      waits between processes, read beside the streamer's own.
//
// Processes: the built-in streamer (MOCK_DELTA_DELAY_MS=0), the pipe proxy and
// the gateway (`startGateway`, as `npm start`) each run as a child process; the
// load client runs here. Everything listens on 127.0.0.1. The gateway uses a
// fresh database on the PostgreSQL server of DATABASE_URL (created here,
// dropped at the end) or, without DATABASE_URL, a fresh file-backed PGlite
// directory (deleted at the end). Exits non-zero when any turn fails.
//
// Knobs (environment): BENCH_TURNS (200), BENCH_WARMUP (300), BENCH_TRACE_TURNS
// (60), BENCH_CONCURRENCY (1,50,500), BENCH_SECONDS per throughput run (3),
// BENCH_LONG deltas per [long] turn (200), BENCH_HOLD open streams (200),
// BENCH_CPU_TURNS sequential turns per path and prompt for the CPU table (100),
// BENCH_PGLITE=memory (in-memory PGlite instead of a file-backed one),
// BENCH_LOG_LEVEL (the children's LOG_LEVEL, default silent; logs go to stderr),
// BENCH_CPU_PROF=<dir> (a V8 CPU profile of the gateway process, written at its exit;
// BENCH_CPU_PROF_INTERVAL sets its sampling interval in µs, default 1000),
// BENCH_ONLY=<sections> (comma-separated; this script's are first-delta, trace,
// throughput, heap, cpu; bench/capacity.ts runs after it for resume and redis).
import { randomUUID } from "node:crypto";
import os from "node:os";
import { setTimeout as sleep } from "node:timers/promises";
import { signUserToken } from "../src/auth/user-token.ts";
import { killAllChildren, type BenchChild } from "./children.ts";
import { agent } from "./client.ts";
import { fixed } from "./stats.ts";
import { clock } from "./trace.ts";
import { createDatabase, env, type BenchDatabase } from "./setup.ts";
import { cpuTable, measureCpu } from "./turn-cpu.ts";
import { latencyTable, measureFirstDelta, traceFirstDelta, traceTable } from "./turn-latency.ts";
import { heapTable, measureHeap, measureThroughput, type ThroughputRow, throughputTable } from "./turn-load.ts";
import { type Paths, startStack, warmUsers } from "./turn-paths.ts";
import { fail, failures, progress, runs, SECTIONS, settings, TIME_LIMIT_MS, withTimeout } from "./turn-settings.ts";

// ---------------------------------------------------------------- report

const loadAverage = () =>
  os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(" ");

function machineLines(databaseLabel: string, loadAtStart: string): string {
  const cpus = os.cpus();
  return [
    `machine   ${cpus[0]?.model ?? "unknown CPU"} x ${cpus.length} (available parallelism ${os.availableParallelism()}), ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, ${os.type()} ${os.release()}`,
    `load      1/5/15-min load average ${loadAtStart} at the start, ${loadAverage()} at the end (anything above ~1 is other work sharing the CPUs)`,
    `node      ${process.version} (client here; streamer, pipe and gateway each in their own process, NODE_ENV=production)`,
    `database  ${databaseLabel}`,
    `streamer  built-in, offline mock model, MOCK_DELTA_DELAY_MS=0; all traffic on 127.0.0.1`,
  ].join("\n");
}

// ---------------------------------------------------------------- main

let database: BenchDatabase | null = null;
const started: BenchChild[] = [];
/** The tables printed so far; printed even when the run is abandoned. */
const output: string[] = [];

async function cleanup(): Promise<string[]> {
  const problems: string[] = [];
  // The gateway first: it stores its running turns while the streamer is still up.
  const gateway = started.find((child) => child.name === "gateway");
  for (const group of [gateway ? [gateway] : [], started.filter((child) => child !== gateway)]) {
    const results = await Promise.allSettled(group.map((child) => child.stop()));
    for (const result of results) if (result.status === "rejected") problems.push(String(result.reason));
  }
  agent.destroy();
  if (database) {
    try {
      await withTimeout(database.drop(), 30_000, "dropping the bench database");
    } catch (error) {
      problems.push(`database cleanup: ${String(error)}`);
    }
    database = null;
  }
  return problems;
}

async function abandon(reason: string, code: number): Promise<never> {
  progress(`${reason}; stopping`);
  killAllChildren();
  await sleep(200);
  if (database) await withTimeout(database.drop(), 10_000, "dropping the bench database").catch(() => {});
  if (output.length > 0) console.log(`\n${output.join("\n\n")}\n`);
  console.log(`ABANDONED: ${reason}`);
  process.exit(code);
}

async function main(): Promise<number> {
  const limit = setTimeout(() => void abandon(`time limit of ${TIME_LIMIT_MS / 1000} s reached`, 1), TIME_LIMIT_MS);
  process.once("SIGINT", () => void abandon("interrupted", 130));
  process.once("SIGTERM", () => void abandon("terminated", 143));
  const startedAt = clock();
  const loadAtStart = loadAverage();
  /** Runs one measurement; a failure is recorded and the next measurement still runs. */
  async function phase<T>(name: string, run: () => Promise<T>): Promise<T | null> {
    try {
      return await run();
    } catch (error) {
      fail(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }
  let databaseLabel = process.env.DATABASE_URL ? "PostgreSQL" : "PGlite";
  try {
    database = await createDatabase();
    databaseLabel = database.label;
    progress(`starting streamer, pipe and gateway (${database.label})`);
    const stack = await startStack(database, started);

    // Enough users that none passes the default quota in a run (see rotate).
    const users = Math.max(500, settings.hold, ...settings.concurrency);
    const userIds = Array.from({ length: users }, () => randomUUID());
    const userTokens = await Promise.all(userIds.map((id) => signUserToken(env, { id, type: "regular" }, 3600)));
    const paths: Paths = { stack, userTokens, userIds, turnsSoFar: 0 };
    await warmUsers(paths);

    const latency = runs("first-delta") ? await phase("first delta", () => measureFirstDelta(paths)) : null;
    if (latency) output.push(latencyTable(latency));
    if (settings.traceTurns > 0 && runs("trace")) {
      const trace = await phase("trace pass", () => traceFirstDelta(paths));
      if (trace) output.push(traceTable(trace));
    }

    const rows: ThroughputRow[] = [];
    for (const concurrency of runs("throughput") ? settings.concurrency : []) {
      for (const path of ["pipe", "gateway"] as const) {
        progress(`throughput: ${concurrency} concurrent ${path} streams`);
        const row = await phase(`throughput ${path} x${concurrency}`, () =>
          measureThroughput(paths, concurrency, path),
        );
        if (row) rows.push(row);
        await sleep(300);
      }
    }
    if (rows.length > 0) output.push(throughputTable(rows));
    if (settings.hold > 0 && runs("heap")) {
      const heap = await phase("heap", () => measureHeap(paths));
      if (heap && heap.length > 0) output.push(heapTable(heap));
    }
    if (settings.cpuTurns > 0 && runs("cpu")) {
      const cpu = await phase("CPU per turn", () => measureCpu(paths));
      if (cpu) output.push(cpuTable(cpu));
    }
  } catch (error) {
    fail(`run aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    for (const problem of await cleanup()) fail(problem);
    clearTimeout(limit);
  }
  output.unshift(machineLines(databaseLabel, loadAtStart));

  console.log(`\n${output.join("\n\n")}\n`);
  console.log(`finished in ${fixed((clock() - startedAt) / 1000, 1)} s`);
  if (failures.size > 0) {
    const total = [...failures.values()].reduce((sum, n) => sum + n, 0);
    console.log(`\nFAILED: ${total} problem(s)`);
    for (const [problem, count] of [...failures].slice(0, 20)) console.log(`  - ${count} x ${problem}`);
    return 1;
  }
  return 0;
}

if (SECTIONS.some(runs)) process.exitCode = await main();
