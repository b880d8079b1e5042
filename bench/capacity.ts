// `npm run bench:capacity` (and, for `resume` and `redis`, the end of `npm run
// bench`): how many paced streams one gateway carries, beside the byte pipe of
// the same streamer in the same run. Every figure is read as a ratio to a
// baseline measured alongside: the machine is shared and its speed drifts.
//
// Sections (arguments, or BENCH_ONLY=a,b in their place; all by default):
//   resume    one paced turn, 0 and then BENCH_RESUMERS resumeStream subscribers
//             (afterSeq null) beside its sender: the sender's p99 delta latency
//   redis     the gateway with REDIS_URL set vs unset (bench/redis-onoff.ts)
//   paced     BENCH_PACED_STREAMS streams of BENCH_PACED_DELTAS deltas at
//             BENCH_PACE deltas/s each (after an unmeasured warm-up run of
//             BENCH_PACED_WARMUP streams through each): pipe, gateway, pipe; latency per delta,
//             failures, CPU per delta of each process, RSS per stream (with
//             BENCH_LIVE_HEAP=1 also the live heap per stream: bench/live-heap-probe.ts)
//   sustained BENCH_SUSTAINED_STREAMS slots, each opening its next paced turn as
//             its last ends, for BENCH_SUSTAINED_SECONDS: pipe, gateway, pipe; the
//             same figures over the window when every slot is busy, with RSS (and
//             with BENCH_LIVE_HEAP=1 the live heap) at its start and end (bench/sustained.ts)
//   overload  a gateway with MAX_RUNNING_TURNS=BENCH_OVERLOAD_LIMIT: that many
//             streams, then twice as many: refusals, and the admitted latency
//   workers   the gateway with WORKERS=1 and 2 (BENCH_WORKERS_STREAMS streams); the other
//             sections run it with BENCH_GATEWAY_WORKERS (1)
//   compare   this tree's gateway against another version's, paced, turn about
//             (BENCH_COMPARE_ROUNDS rounds, 2 by default: A B B A, then B A A B..., after an
//             unmeasured warm-up of each, with the pipe before and after), BENCH_COMPARE_SERVER
//             naming the other's src/server.ts (a checkout with node_modules);
//             BENCH_COMPARE_FLAGS / BENCH_COMPARE_ENV ("K=V ..."): Node flags and
//             settings for the other (without BENCH_COMPARE_SERVER: this tree with them)
//
// Database: a fresh one per run, seeded with BENCH_HISTORY_CHATS (10,000) earlier chats and
// analyzed before a gateway's first turn, as a live deployment's would be (bench/history.ts).
//
// Processes: a paced streamer (MOCK_DELTA_DELAY_MS=1000/pace; bench/paced-streamer-main.ts,
// or with BENCH_STREAMER=builtin the built-in streamer), a zero-delay one
// (redis), the byte pipe, gateways as `node src/server.ts` (PostgreSQL of
// DATABASE_URL, Redis of REDIS_URL when set), and BENCH_CLIENT_PROCESSES load
// children reading the SSE streams. Delta latency: the streamer stamps each
// delta's send time ([stamp], on the system-wide monotonic clock), the client
// subtracts it from the time it read the delta.
import { randomUUID } from "node:crypto";
import os from "node:os";
import { signUserToken } from "../src/auth/user-token.ts";
import { killAllChildren } from "./children.ts";
import {
  childTarget,
  pacedPrompt,
  pacedRun,
  specsFor,
  type Loaders,
  type PacedRow,
  type Target,
  type User,
} from "./paced.ts";
import { measureRedisOnOff } from "./redis-onoff.ts";
import { measureResume } from "./resume-fanout.ts";
import { createDatabase, env } from "./setup.ts";
import { PIPE, pacedTable, resumeTable, sustainedTable } from "./capacity-report.ts";
import { sustainedRun } from "./sustained.ts";
import { compareOther, measureCompare } from "./compare.ts";
import { cleanup, gateway, gatewayTarget, spawn, warmUsers } from "./capacity-processes.ts";
import { databases, fail, failures, output, progress, sections, settings } from "./capacity-settings.ts";

async function main(): Promise<number> {
  const loadAtStart = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
  const users: User[] = await Promise.all(
    Array.from(
      {
        length: Math.max(
          500,
          2 * settings.overloadLimit,
          ...settings.streams,
          settings.workersStreams,
          settings.sustainedStreams,
        ),
      },
      async () => {
        const id = randomUUID();
        return { id, token: await signUserToken(env, { id, type: "regular" }, 3600) };
      },
    ),
  );
  const database = await createDatabase();
  databases.push(database);
  const streamer = await spawn(
    `paced streamer (${settings.streamer})`,
    settings.streamer === "builtin" ? "streamer-main.ts" : "paced-streamer-main.ts",
    { MOCK_DELTA_DELAY_MS: String(Math.round(1000 / settings.pace)) },
  );
  const loaders: Loaders = {
    children: await Promise.all(
      Array.from({ length: settings.clients }, (_, i) => spawn(`client ${i}`, "load-main.ts")),
    ),
    streamerPid: streamer.pid,
  };
  const needsMain = sections.some((s) => ["resume", "paced", "sustained"].includes(s));
  const main = needsMain ? await gateway("gateway", database, streamer.url, {}) : null;
  if (main) await warmUsers(main.url, users);

  if (main && sections.includes("resume")) {
    output.push(
      resumeTable(
        await measureResume(main.url, loaders, users[0], { ...settings, progress, fail }),
        settings.deltas,
        settings.pace,
      ),
    );
  }
  if (sections.includes("redis")) {
    if (!process.env.REDIS_URL)
      output.push("Redis on/off: skipped (set REDIS_URL to compare the gateway with Redis on and off)");
    else {
      const fast = await spawn("zero-delay streamer", "streamer-main.ts", { MOCK_DELTA_DELAY_MS: "0" });
      const [dbOn, dbOff] = [await createDatabase(), await createDatabase()];
      databases.push(dbOn, dbOff);
      const on = await gateway("gateway, Redis on", dbOn, fast.url, {});
      const off = await gateway("gateway, Redis off", dbOff, fast.url, { REDIS_URL: "" });
      await Promise.all([warmUsers(on.url, users.slice(0, 500)), warmUsers(off.url, users.slice(0, 500))]);
      progress("redis: on/off side by side");
      output.push(
        await measureRedisOnOff(
          [
            { label: "REDIS_URL set", url: on.url },
            { label: "REDIS_URL unset", url: off.url },
          ],
          users.slice(0, 500),
          settings.redis,
          fail,
        ),
      );
      await Promise.all([on.stop(), off.stop()]);
    }
  }
  const pipe = sections.some((s) => ["paced", "sustained", "workers", "compare"].includes(s))
    ? await spawn("pipe", "pipe-main.ts", { BENCH_UPSTREAM_URL: streamer.url })
    : null;
  const pipeTarget = pipe ? childTarget("pipe", PIPE, pipe) : null;
  const prompt = pacedPrompt(settings.deltas);
  // BENCH_LIVE_HEAP=1: the gateway's live heap is read before each paced run and halfway through its turns.
  const liveHeapAtMs =
    process.env.BENCH_LIVE_HEAP === "1" ? settings.rampMs + (settings.deltas * 500) / settings.pace : undefined;
  const run = async (target: Target, n: number, live?: number): Promise<PacedRow> => {
    const specs = await specsFor(target, users, n, prompt);
    const { row } = await pacedRun(target, loaders, specs, settings.rampMs, { liveHeapAtMs: live });
    for (const problem of row.failures) fail(`${row.label} x${row.streams}: ${problem}`);
    return row;
  };
  const pacedRows = [];
  if (main && pipeTarget && sections.includes("paced")) {
    // Unmeasured: a running gateway has its code optimised and its database connections
    // open, so the first measured row does not carry the fresh process's warm-up.
    if (settings.warmupStreams > 0) {
      for (const target of [pipeTarget, gatewayTarget("gateway", main)]) {
        progress(`paced: warm-up, ${settings.warmupStreams} streams through the ${target.label}`);
        await run(target, settings.warmupStreams);
      }
    }
    for (const n of settings.streams) {
      // The pipe before and after: the machine's speed drifts within a run, and the ratio is to their mean.
      for (const target of [pipeTarget, gatewayTarget("gateway", main), pipeTarget]) {
        progress(`paced: ${n} streams through the ${target.label}`);
        pacedRows.push(await run(target, n, liveHeapAtMs));
      }
    }
    output.push(pacedTable("Paced streams", pacedRows, settings));
  }
  if (main && pipeTarget && sections.includes("sustained")) {
    const n = settings.sustainedStreams;
    // Slots start over one turn's length: the rate at which n concurrent turns of that length start.
    const timing = {
      rampMs: (settings.deltas * 1000) / settings.pace,
      durationMs: settings.sustainedSeconds * 1000,
      liveHeap: process.env.BENCH_LIVE_HEAP === "1",
    };
    const rows = [];
    for (const target of [pipeTarget, gatewayTarget("gateway", main), pipeTarget]) {
      progress(`sustained: ${n} slots through the ${target.label} for ${settings.sustainedSeconds} s`);
      const row = await sustainedRun(target, loaders, await specsFor(target, users, n, prompt), timing);
      for (const problem of row.failures) fail(`${row.label} sustained x${n}: ${problem}`);
      rows.push(row);
    }
    output.push(sustainedTable(rows, { ...settings, ...timing }));
  }
  if (sections.includes("overload")) {
    const limit = settings.overloadLimit;
    const limited = await gateway("gateway (limited)", database, streamer.url, { MAX_RUNNING_TURNS: String(limit) });
    const target = gatewayTarget(`gateway, MAX_RUNNING_TURNS=${limit}`, limited);
    const rows = [];
    for (const n of [limit, 2 * limit]) {
      progress(`overload: ${n} streams, limit ${limit}`);
      rows.push(await run(target, n));
    }
    output.push(pacedTable("Overload: refusals, and the admitted streams' latency", rows, settings));
    await limited.stop();
  }
  if (pipeTarget && sections.includes("workers")) {
    const rows = [];
    const n = settings.workersStreams;
    for (const workers of settings.workers) {
      const gw = await gateway(`gateway (${workers} workers)`, database, streamer.url, { WORKERS: String(workers) });
      for (const target of [pipeTarget, gatewayTarget(`gateway, WORKERS=${workers}`, gw)]) {
        progress(`workers: ${n} streams through the ${target.label}`);
        rows.push(await run(target, n));
      }
      await gw.stop();
    }
    output.push(pacedTable("Workers: one gateway process vs node:cluster workers", rows, settings));
  }
  if (pipeTarget && sections.includes("compare")) {
    const other = compareOther();
    if (!other)
      fail("compare: set BENCH_COMPARE_SERVER to the other version's src/server.ts, or BENCH_COMPARE_FLAGS/ENV");
    else {
      const a = gatewayTarget("gateway, this tree", await gateway("gateway A", database, streamer.url, {}));
      const b = gatewayTarget(
        `gateway, other${other.note ? ` ${other.note}` : ""}`,
        await gateway("gateway B", database, streamer.url, other.env, other.server, other.flags),
      );
      await Promise.all([warmUsers(a.url, users), warmUsers(b.url, users)]);
      const { streams, compareRounds: rounds } = settings;
      output.push(
        ...(await measureCompare({ a, b, pipe: pipeTarget, other, streams, rounds, settings, run, progress })),
      );
    }
  }
  const cpus = os.cpus();
  output.unshift(
    [
      `machine   ${cpus[0]?.model ?? "unknown CPU"} x ${cpus.length}, ${os.type()} ${os.release()}, node ${process.version}, ${new Date().toISOString()}`,
      `load      1/5/15-min load average ${loadAtStart} at the start, ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")} at the end`,
      `setup     ${database.label}${database.childEnv.DATABASE_URL && settings.historyChats > 0 ? `, seeded with ${settings.historyChats} earlier chats and analyzed` : ""}; Redis ${process.env.REDIS_URL ? "on" : "off"}; ${settings.clients} client processes; ${settings.streamer} mock streamer paced at ${settings.pace} deltas/s, ${settings.deltas} deltas a turn`,
    ].join("\n"),
  );
  return failures.length > 0 ? 1 : 0;
}

if (sections.length > 0) {
  const limit = setTimeout(() => {
    console.log(`${output.join("\n\n")}\nABANDONED: time limit`);
    killAllChildren();
    process.exit(1);
  }, 1_800_000);
  let code = 1;
  try {
    code = await main();
  } catch (error) {
    fail(`run aborted: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  } finally {
    await cleanup();
    clearTimeout(limit);
  }
  console.log(`\n${output.join("\n\n")}\n`);
  if (failures.length > 0) {
    console.log(`FAILED: ${failures.length} problem(s)`);
    const counts = new Map<string, number>();
    for (const f of failures) counts.set(f, (counts.get(f) ?? 0) + 1);
    for (const [f, n] of [...counts].slice(0, 20)) console.log(`  - ${n} x ${f}`);
    code = 1;
  }
  process.exitCode = code;
}
