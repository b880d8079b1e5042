// Sections 2 and 3 of `npm run bench` (bench/turn.ts): deltas per second, and heap per open stream.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import type { BenchChild } from "./children.ts";
import { stopTurn, openStream, type StreamHandle } from "./client.ts";
import { fixed, kb, mb, median, table } from "./stats.ts";
import { clock } from "./trace.ts";
import { type PathName, type Paths, rotate, runTurn, specFor } from "./turn-paths.ts";
import { check, fail, LOAD_TURN_TIMEOUT_MS, LONG_PROMPT, progress, settings, withTimeout } from "./turn-settings.ts";

// ---------------------------------------------------------------- 2. throughput

export interface ThroughputRow {
  concurrency: number;
  path: PathName;
  turns: number;
  failed: number;
  deltas: number;
  wallMs: number;
  turnP50: number;
}

export async function measureThroughput(paths: Paths, concurrency: number, path: PathName): Promise<ThroughputRow> {
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

export interface HeapRow {
  label: string;
  streams: number;
  deltasPerStream: number;
  before: number;
  during: number;
  after: number;
  streamerPerStream: number;
}

export async function heapUsed(child: BenchChild): Promise<number> {
  return (await child.call<NodeJS.MemoryUsage>("heap", undefined, 30_000)).heapUsed;
}

export async function holdStreams(
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

export async function measureHeap(paths: Paths): Promise<HeapRow[]> {
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

export function throughputTable(rows: ThroughputRow[]): string {
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

export function heapTable(rows: HeapRow[]): string {
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
