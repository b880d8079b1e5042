import cluster, { type Worker } from "node:cluster";
import { availableParallelism } from "node:os";
import { poolSizeOf, streamerUrlOf, type Env } from "./config/env.ts";
import { nodeFlagsNote } from "./config/node-flags.ts";
import { serveInstanceMetrics } from "./http/cluster-metrics.ts";
import { log } from "./log.ts";
import { TurnSlotLedger, type SlotHolder } from "./turn/turn-slot-ledger.ts";
import { TURN_SLOTS_ENV } from "./turn/turn-slots.ts";

// After the workers' own drain bound (SHUTDOWN_DRAIN_SECONDS plus their exit
// margin), what the primary waits before it kills what is left.
const PRIMARY_EXIT_MARGIN_MS = 6_000;
// A worker that dies before it serves is not restarted (a configuration or
// start-up failure would only repeat); one that dies while serving is, but past
// this many replacements per worker in a minute the instance is in a crash loop
// and stops with code 1.
const REPLACEMENTS_PER_WORKER_PER_MINUTE = 3;
const REPLACEMENT_WINDOW_MS = 60_000;
// Ctrl-C in a terminal reaches the primary and every worker; the primary's copy
// is not sent on (see src/http/shutdown.ts for the same double signal).
const REPEATED_SIGINT_MS = 500;

export interface WorkerPlan {
  workers: number;
  /** Why that many, for the start-up log. */
  reason: string;
}

/**
 * How many gateway processes `npm start` runs: WORKERS when set; else one per
 * core when DATABASE_URL and REDIS_URL are both set (every process a full
 * instance sharing PostgreSQL and Redis, so a turn is resumable and stoppable
 * from any of them); else one (embedded PGlite lives in one process, and
 * without Redis a turn is only reachable on the process that runs it).
 */
export function planWorkers(env: Env): WorkerPlan {
  if (env.WORKERS !== undefined) return { workers: env.WORKERS, reason: "WORKERS" };
  if (env.DATABASE_URL && env.REDIS_URL) {
    return { workers: availableParallelism(), reason: "one per core (DATABASE_URL and REDIS_URL are set)" };
  }
  return {
    workers: 1,
    reason: env.DATABASE_URL ? "one process: REDIS_URL is not set" : "one process: embedded PGlite (no DATABASE_URL)",
  };
}

/** The workers' built-in streamers would listen on one fixed port (node:cluster shares it among them). */
export function sharedStreamerPort(env: Env, plan: WorkerPlan): boolean {
  return plan.workers > 1 && env.STREAMER_PORT !== undefined && env.STREAM_MODE === "proxy" && !streamerUrlOf(env);
}

/** A message a worker sends its primary once it serves. */
export interface WorkerReady {
  gatewayReady: { url: string };
}

/**
 * The node:cluster primary: forks `workers` gateway processes on the same port
 * (each runs src/server.ts as a worker), logs "gateway ready" once all serve,
 * restarts a worker that dies while serving, and on SIGTERM or SIGINT passes
 * the signal to every worker (each drains as a single process does) and exits
 * once all have: 0 when every worker exited 0.
 */
export function runPrimary(env: Env, plan: WorkerPlan): void {
  // MAX_RUNNING_TURNS bounds the instance: the workers share its slots (src/turn/turn-slots.ts).
  const slots = env.MAX_RUNNING_TURNS === 0 ? null : new TurnSlotLedger(env.MAX_RUNNING_TURNS);
  const holders = new Map<Worker, SlotHolder>();
  const forkedAt = new Map<Worker, number>();
  const ready = new Set<Worker>();
  // When each replacement was started, to bound a crash loop.
  const replacedAt: number[] = [];
  let stopping: { signal: NodeJS.Signals; at: number } | null = null;
  let failed = false;
  let announced = false;

  const fork = () => {
    const worker = cluster.fork(slots ? { [TURN_SLOTS_ENV]: "shared" } : {});
    forkedAt.set(worker, Date.now());
    if (slots) {
      const holder: SlotHolder = {
        send: (message) => {
          if (worker.isConnected()) worker.send(message, undefined, () => {});
        },
      };
      holders.set(worker, holder);
      slots.started(holder);
      worker.on("message", (message: unknown) => slots.receive(holder, message));
    }
    worker.on("message", (message: WorkerReady) => {
      if (!message?.gatewayReady) return;
      ready.add(worker);
      if (!announced && ready.size === plan.workers) {
        announced = true;
        log.info(`gateway ready at ${message.gatewayReady.url}/graphql`, {
          url: message.gatewayReady.url,
          pid: process.pid,
          workers: plan.workers,
          workerPids: [...ready].map((w) => w.process.pid),
          nodeFlags: nodeFlagsNote(),
          database: "postgresql",
        });
      }
    });
  };

  const stopAll = (why: string, fields: Record<string, unknown>) => {
    log.error(why, fields);
    for (const other of forkedAt.keys()) other.process.kill("SIGTERM");
    process.exitCode = 1;
    stopping = { signal: "SIGTERM", at: Date.now() };
    failed = true;
    if (forkedAt.size === 0) process.exit(1);
  };

  cluster.on("exit", (worker, code, signal) => {
    forkedAt.delete(worker);
    const holder = holders.get(worker);
    if (holder) slots?.leave(holder);
    holders.delete(worker);
    // Whether it had said it serves: counted from its readiness, not from the fork.
    const serving = ready.delete(worker);
    if (stopping) {
      if (code !== 0) failed = true;
      log.info("worker exited", { pid: worker.process.pid, code, signal, left: forkedAt.size });
      if (forkedAt.size === 0) process.exit(failed ? 1 : 0);
      return;
    }
    if (!serving) {
      stopAll("a worker exited during start-up; stopping", { pid: worker.process.pid, code, signal });
      return;
    }
    const now = Date.now();
    while (replacedAt.length > 0 && now - replacedAt[0] >= REPLACEMENT_WINDOW_MS) replacedAt.shift();
    if (replacedAt.length >= REPLACEMENTS_PER_WORKER_PER_MINUTE * plan.workers) {
      stopAll("workers keep dying (a crash loop); stopping", {
        pid: worker.process.pid,
        code,
        signal,
        replacedInLastMinute: replacedAt.length,
      });
      return;
    }
    replacedAt.push(now);
    log.error("a worker died; starting another (its turns are recovered from Redis)", {
      pid: worker.process.pid,
      code,
      signal,
    });
    fork();
  });

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping && signal === "SIGINT" && stopping.signal === "SIGINT") {
      if (Date.now() - stopping.at < REPEATED_SIGINT_MS) return;
    }
    if (!stopping) {
      log.info("passing the signal to every worker; each drains its turns", { signal, workers: forkedAt.size });
      setTimeout(
        () => {
          log.error("workers still running past the drain bound; killing them", { workers: forkedAt.size });
          for (const worker of forkedAt.keys()) worker.process.kill("SIGKILL");
          process.exit(1);
        },
        env.SHUTDOWN_DRAIN_SECONDS * 1000 + PRIMARY_EXIT_MARGIN_MS,
      ).unref();
    }
    stopping = { signal, at: Date.now() };
    for (const worker of forkedAt.keys()) worker.process.kill(signal);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  serveInstanceMetrics();

  log.info(`starting ${plan.workers} gateway workers (${plan.reason})`, {
    workers: plan.workers,
    maxRunningTurns: env.MAX_RUNNING_TURNS,
    dbPoolSizePerWorker: poolSizeOf(env, true),
  });
  if (sharedStreamerPort(env, plan)) {
    log.warn(
      "STREAMER_PORT is set with several workers: their built-in streamers share that port, so a worker that shuts down cuts turns of other workers; leave it unset or run the streamer on its own (STREAMER_URL)",
      { streamerPort: env.STREAMER_PORT, workers: plan.workers },
    );
  }
  for (let i = 0; i < plan.workers; i++) fork();
}
