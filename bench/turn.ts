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
import { signInternalToken } from "../src/auth/internal-token.ts";
import { signUserToken } from "../src/auth/user-token.ts";
import { spawnChild, killAllChildren, type BenchChild } from "./children.ts";
import { ownCpuMs, postgresCpu, postgresCpuBetween, type PostgresCpu } from "./cpu.ts";
import {
  agent,
  gatewaySpec,
  stopTurn,
  openStream,
  uiSpec,
  type StreamHandle,
  type StreamResult,
  type StreamSpec,
} from "./client.ts";
import { fixed, kb, mb, median, percentile, signed, table } from "./stats.ts";
import { clock, type TraceEvent } from "./trace.ts";
import { baseEnv, createDatabase, env, secrets, type BenchDatabase } from "./setup.ts";
import { GATEWAY_NODE_FLAGS } from "../src/config/node-flags.ts";

// ---------------------------------------------------------------- settings

function intSetting(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer`);
  return value;
}

const settings = {
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
const TIME_LIMIT_MS = 175_000;
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((s) => s.trim())) : null;
const runs = (section: string) => only === null || only.has(section);
const SECTIONS = ["first-delta", "trace", "throughput", "heap", "cpu"];
const PLAIN_PROMPT = "[plain] How long until the first word?";
const LONG_PROMPT = `[long:${settings.longDeltas}] Tell me everything.`;
const TURN_TIMEOUT_MS = 15_000;
const LOAD_TURN_TIMEOUT_MS = 60_000;

const progress = (message: string) => process.stderr.write(`bench: ${message}\n`);

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Turns that did not end as expected, and other problems; any of them makes the exit code 1. */
const failures = new Map<string, number>();
function fail(problem: string): void {
  failures.set(problem, (failures.get(problem) ?? 0) + 1);
}
function check(result: StreamResult, what: string, expectedDeltas?: number): boolean {
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

// ---------------------------------------------------------------- setup

interface Stack {
  streamer: BenchChild;
  pipe: BenchChild;
  gateway: BenchChild;
}

async function startStack(database: BenchDatabase, started: BenchChild[]): Promise<Stack> {
  const gcFlag = ["--expose-gc"];
  const gatewayFlags = [...gcFlag, ...GATEWAY_NODE_FLAGS];
  const streamer = await spawnChild("streamer", {
    file: "streamer-main.ts",
    env: { ...baseEnv(), MOCK_DELTA_DELAY_MS: "0" },
    readyTimeoutMs: 30_000,
    execArgv: gcFlag,
  });
  started.push(streamer);
  const [pipe, gateway] = await Promise.all([
    spawnChild("pipe", {
      file: "pipe-main.ts",
      env: { ...baseEnv(), BENCH_UPSTREAM_URL: streamer.url },
      readyTimeoutMs: 30_000,
      execArgv: gcFlag,
    }).then((child) => {
      started.push(child);
      return child;
    }),
    spawnChild("gateway", {
      file: "gateway-main.ts",
      env: {
        ...baseEnv(),
        ...database.childEnv,
        PORT: "0",
        HOST: "127.0.0.1",
        STREAMER_URL: streamer.url,
        STREAM_MODE: "proxy",
        QUOTA_REGULAR_PER_DAY: "1000000",
        // Refusals for event-loop delay would measure the other work on this shared machine.
        OVERLOAD_EVENT_LOOP_DELAY_MS: "0",
      },
      readyTimeoutMs: 90_000,
      execArgv: process.env.BENCH_CPU_PROF
        ? [
            ...gatewayFlags,
            "--cpu-prof",
            `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`,
            `--cpu-prof-interval=${intSetting("BENCH_CPU_PROF_INTERVAL", 1000)}`,
          ]
        : gatewayFlags,
    }).then((child) => {
      started.push(child);
      return child;
    }),
  ]);
  return { streamer, pipe, gateway };
}

// ---------------------------------------------------------------- turns

interface Paths {
  stack: Stack;
  userTokens: string[];
  userIds: string[];
  /** The next user of sequential turns (see `rotate`). */
  turnsSoFar: number;
}

/**
 * Turns rotate through the user pool so that no user sends more than a real
 * one could under the default quota (50 a day): the quota count is bounded by
 * the quota, and one user with thousands of messages a day would make that
 * count, not the turn, the thing measured. Workers of a concurrent run keep
 * users of their own (worker w uses w, w + n, w + 2n, ...).
 */
function rotate(paths: Paths, worker = 0, workers = 1): number {
  const perWorker = Math.max(1, Math.floor(paths.userIds.length / workers));
  return worker + (paths.turnsSoFar++ % perWorker) * workers;
}

type PathName = "gateway" | "pipe" | "streamer";

/** A turn's spec for `path`; user `u` (tokens are minted before timing starts). */
async function specFor(
  paths: Paths,
  path: PathName,
  u: number,
  text: string,
  timeoutMs: number,
  chatId: string = randomUUID(),
): Promise<StreamSpec> {
  if (path === "gateway") return gatewaySpec(paths.stack.gateway.url, paths.userTokens[u], text, timeoutMs, chatId);
  const token = await signInternalToken(secrets.NEXTJS_INTERNAL_TOKEN, { userId: paths.userIds[u], chatId });
  const base = path === "pipe" ? paths.stack.pipe.url : paths.stack.streamer.url;
  return uiSpec(base, token, chatId, text, timeoutMs);
}

async function runTurn(
  paths: Paths,
  path: PathName,
  u: number,
  text: string,
  timeoutMs: number,
): Promise<StreamResult> {
  return openStream(await specFor(paths, path, u, text, timeoutMs)).done;
}

async function warmUsers(paths: Paths): Promise<void> {
  // First sight of a user upserts it; do that before anything is timed.
  const url = `${paths.stack.gateway.url}/graphql`;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < paths.userTokens.length) {
        const token = paths.userTokens[next++];
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: "{ me { id } }" }),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await response.json()) as { errors?: unknown };
        if (!response.ok || body.errors) throw new Error(`warm-up query failed: ${JSON.stringify(body)}`);
      }
    }),
  );
}

// ---------------------------------------------------------------- 1. first delta

interface LatencyResult {
  samples: Record<PathName, number[]>;
}

async function measureFirstDelta(paths: Paths): Promise<LatencyResult> {
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

interface TraceStage {
  label: string;
  gateway: number[];
  streamer: number[];
}

function firstAt(events: TraceEvent[], name: string, from: number, to: number): number | undefined {
  for (const [event, at] of events) if (event === name && at >= from && at <= to) return at;
  return undefined;
}

async function traceFirstDelta(paths: Paths): Promise<{ stages: TraceStage[]; turns: number }> {
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

// ---------------------------------------------------------------- 2. throughput

interface ThroughputRow {
  concurrency: number;
  path: PathName;
  turns: number;
  failed: number;
  deltas: number;
  wallMs: number;
  turnP50: number;
}

async function measureThroughput(paths: Paths, concurrency: number, path: PathName): Promise<ThroughputRow> {
  const durations: number[] = [];
  let turns = 0;
  let failed = 0;
  let deltas = 0;
  const start = clock();
  const deadline = start + settings.seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      // Each worker runs turns back to back until the deadline, as users of its own.
      do {
        const result = await runTurn(
          paths,
          path,
          rotate(paths, worker, concurrency),
          LONG_PROMPT,
          LOAD_TURN_TIMEOUT_MS,
        );
        turns++;
        deltas += result.deltas;
        durations.push(result.end - result.t0);
        if (!check(result, `throughput ${path} x${concurrency}`, settings.longDeltas)) {
          failed++;
          break; // a worker stops at its first failure, so a dead server does not spin the loop
        }
      } while (clock() < deadline);
    }),
  );
  return { concurrency, path, turns, failed, deltas, wallMs: clock() - start, turnP50: median(durations) };
}

// ---------------------------------------------------------------- 3. heap

interface HeapRow {
  label: string;
  streams: number;
  deltasPerStream: number;
  before: number;
  during: number;
  after: number;
  streamerPerStream: number;
}

async function heapUsed(child: BenchChild): Promise<number> {
  return (await child.call<NodeJS.MemoryUsage>("heap", undefined, 30_000)).heapUsed;
}

async function holdStreams(
  paths: Paths,
  path: "gateway" | "pipe",
  prompt: string,
  settleMs: number,
  label: string,
): Promise<HeapRow> {
  const { streamer } = paths.stack;
  const measured = paths.stack[path];
  const n = settings.hold;
  progress(`heap: holding ${n} ${label} streams`);
  const before = await heapUsed(measured);
  const streamerBefore = await heapUsed(streamer);
  const handles: StreamHandle[] = [];
  const chatIds = Array.from({ length: n }, () => randomUUID());
  for (let u = 0; u < n; u++) handles.push(openStream(await specFor(paths, path, u, prompt, 120_000, chatIds[u])));
  try {
    await withTimeout(
      Promise.all(
        handles.map((handle) =>
          Promise.race([
            handle.stepped,
            handle.done.then((result) => {
              throw new Error(`a held ${path} stream ended early: ${result.status} ${result.detail}`);
            }),
          ]),
        ),
      ),
      60_000,
      `${n} ${path} streams open`,
    );
    await sleep(Math.max(settleMs, 200));
    const deltasPerStream = handles.reduce((sum, handle) => sum + handle.deltas, 0) / n;
    const [during, streamerDuring] = [await heapUsed(measured), await heapUsed(streamer)];
    return {
      label,
      streams: n,
      deltasPerStream,
      before,
      during,
      after: Number.NaN,
      streamerPerStream: (streamerDuring - streamerBefore) / n,
    };
  } finally {
    // A gateway turn outlives its client (it is stored and resumable): the held ones are stopped first.
    if (path === "gateway") {
      const url = paths.stack.gateway.url;
      await Promise.all(chatIds.map((chatId, u) => stopTurn(url, paths.userTokens[u], chatId).catch(() => {})));
    }
    for (const handle of handles) handle.abort();
    const ended = await withTimeout(Promise.all(handles.map((handle) => handle.done)), 30_000, "held streams closing");
    for (const result of ended) {
      if (result.status === "failed") fail(`held ${path} stream: ${result.detail}`);
    }
    // Every upstream stream must stop once its turn is stopped (the pipe's: once its client is gone).
    const deadline = clock() + 30_000;
    for (;;) {
      const { active } = await streamer.call<{ active: number }>("activity");
      if (active === 0) break;
      if (clock() > deadline) {
        fail(`${active} streamer streams still running 30 s after the ${path} clients left`);
        break;
      }
      await sleep(50);
    }
  }
}

async function measureHeap(paths: Paths): Promise<HeapRow[]> {
  const rows: HeapRow[] = [];
  // Each hold on its own: one that fails is recorded, the others still run.
  for (const [path, prompt, settleMs, label] of [
    ["gateway", "[hang] hold on", 0, "gateway [hang]"],
    ["pipe", "[hang] hold on", 0, "byte-pipe proxy [hang]"],
    ["gateway", "[plain] [slow] a slow answer", 2_000, "gateway [slow], 2 s in"],
    ["pipe", "[plain] [slow] a slow answer", 2_000, "byte-pipe proxy [slow], 2 s in"],
  ] as const) {
    try {
      const row = await holdStreams(paths, path, prompt, settleMs, label);
      await sleep(500); // aborted gateway turns are stored after their upstream stops
      row.after = await heapUsed(paths.stack[path]);
      rows.push(row);
    } catch (error) {
      fail(`heap, ${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return rows;
}

// ---------------------------------------------------------------- 4. CPU per turn

const CPU_WARMUP_TURNS = 10;
const CPU_PROCESSES = ["gateway", "pipe", "streamer", "postgres", "client"] as const;
type CpuProcess = (typeof CPU_PROCESSES)[number];
type CpuReading = Record<CpuProcess, number | null>;
type CpuSnapshot = Record<Exclude<CpuProcess, "postgres">, number> & { postgres: PostgresCpu | null };

interface CpuRow {
  prompt: string;
  path: PathName;
  turns: number;
  /** CPU ms per turn of each process; null where it could not be read. */
  perTurn: CpuReading;
}

async function cpuSnapshot(stack: Stack): Promise<CpuSnapshot> {
  const [gateway, pipe, streamer] = await Promise.all(
    [stack.gateway, stack.pipe, stack.streamer].map((child) => child.call<number>("cpu")),
  );
  return { gateway, pipe, streamer, postgres: postgresCpu(), client: ownCpuMs() };
}

function cpuPerTurn(before: CpuSnapshot, after: CpuSnapshot, turns: number): CpuReading {
  const postgres = postgresCpuBetween(before.postgres, after.postgres);
  return {
    gateway: (after.gateway - before.gateway) / turns,
    pipe: (after.pipe - before.pipe) / turns,
    streamer: (after.streamer - before.streamer) / turns,
    postgres: postgres === null ? null : postgres / turns,
    client: (after.client - before.client) / turns,
  };
}

/**
 * Sequential turns in blocks per path (CPU counters cannot tell interleaved
 * paths apart), each block after a few unmeasured turns. Every process is
 * read around every block, so a process that should be idle shows it.
 */
async function measureCpu(paths: Paths): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  for (const prompt of [PLAIN_PROMPT, LONG_PROMPT]) {
    for (const path of ["gateway", "pipe", "streamer"] as PathName[]) {
      progress(`CPU: ${settings.cpuTurns} sequential ${path} turns of ${prompt.split(" ")[0]}`);
      const expected = prompt === LONG_PROMPT ? settings.longDeltas : undefined;
      const turn = async () =>
        check(await runTurn(paths, path, rotate(paths), prompt, TURN_TIMEOUT_MS), `CPU ${path}`, expected);
      for (let i = 0; i < CPU_WARMUP_TURNS; i++) await turn();
      const before = await cpuSnapshot(paths.stack);
      for (let i = 0; i < settings.cpuTurns; i++) await turn();
      const perTurn = cpuPerTurn(before, await cpuSnapshot(paths.stack), settings.cpuTurns);
      rows.push({ prompt: prompt.split(" ")[0], path, turns: settings.cpuTurns, perTurn });
    }
  }
  return rows;
}

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

function latencyTable(latency: LatencyResult): string {
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

function traceTable(trace: { stages: TraceStage[]; turns: number }): string {
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

function throughputTable(rows: ThroughputRow[]): string {
  const rate = (row: ThroughputRow) => row.deltas / (row.wallMs / 1000);
  return table(
    `2. Text deltas per second ([long:${settings.longDeltas}] turns back to back for ${settings.seconds} s per run, counted at the clients over the wall time)`,
    ["streams", "path", "turns", "failed", "deltas", "wall s", "turn p50 ms", "deltas/s", "gateway/pipe"],
    rows.map((row) => {
      const pipe = rows.find((r) => r.concurrency === row.concurrency && r.path === "pipe");
      return [
        String(row.concurrency),
        row.path === "gateway" ? "gateway" : "byte-pipe proxy",
        String(row.turns),
        String(row.failed),
        String(row.deltas),
        fixed(row.wallMs / 1000),
        fixed(row.turnP50, 1),
        fixed(rate(row), 0),
        row.path === "gateway" && pipe ? fixed(rate(row) / rate(pipe)) : "",
      ];
    }),
  );
}

function heapTable(rows: HeapRow[]): string {
  return [
    table(
      `3. Heap per open stream (${settings.hold} streams held mid-turn; heapUsed after gc, in the measured process)`,
      ["held streams", "deltas/stream", "before MB", "during MB", "per stream KB", "after MB", "streamer KB/stream"],
      rows.map((row) => [
        row.label,
        fixed(row.deltasPerStream, 0),
        mb(row.before),
        mb(row.during),
        kb((row.during - row.before) / row.streams),
        mb(row.after),
        kb(row.streamerPerStream),
      ]),
    ),
    "   [hang]: StreamStarted/StepStarted sent, upstream open, no deltas yet. [slow]: deltas every 25 ms; the gateway keeps",
    "   a running turn's events and chunks until it ends, so its per-stream heap can grow with the turn.",
  ].join("\n");
}

function cpuTable(rows: CpuRow[]): string {
  const label = { gateway: "gateway", pipe: "byte-pipe proxy", streamer: "streamer direct" };
  const cell = (value: number | null) => (value === null ? "n/a" : fixed(value));
  const ratios = [...new Set(rows.map((row) => row.prompt))].map((prompt) => {
    const gateway = rows.find((row) => row.prompt === prompt && row.path === "gateway")?.perTurn;
    const direct = rows.find((row) => row.prompt === prompt && row.path === "streamer")?.perTurn;
    const own = gateway && gateway.gateway !== null ? gateway.gateway + (gateway.postgres ?? 0) : Number.NaN;
    return `${prompt} ${fixed(own / (direct?.streamer ?? Number.NaN))}`;
  });
  return [
    table(
      `4. CPU per turn, ms (${settings.cpuTurns} sequential turns per path and prompt; user + system time of each process)`,
      ["prompt", "path", "turns", "gateway", "pipe", "streamer", "PostgreSQL", "client"],
      rows.map((row) => [
        row.prompt,
        label[row.path],
        String(row.turns),
        ...CPU_PROCESSES.map((name) => cell(row.perTurn[name])),
      ]),
    ),
    `   gateway + PostgreSQL CPU per turn over the streamer's own (direct) CPU per turn: ${ratios.join(", ")}.`,
    "   PostgreSQL: every local process named postgres, from /proc/<pid>/schedstat (with PGlite, the database is inside the gateway).",
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
