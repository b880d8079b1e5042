import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

// Every series the gateway exposes on /metrics (src/http/metrics-endpoint.ts),
// one registry per process: instances are told apart by Prometheus' labels.
// Recording is a few additions, so the hooks stay on whether or not /metrics is served.
export const metricsRegistry = new Registry();
const registers = [metricsRegistry];
const PREFIX = "chat_gateway_";

const runningTurns = new Gauge({ name: `${PREFIX}running_turns`, help: "Turns running on this instance.", registers });

const turnsEnded = new Counter({
  name: `${PREFIX}turns_total`,
  help: "Turns ended, by outcome (finished, aborted, failed) and the StreamFailed code.",
  labelNames: ["outcome", "code"] as const,
  registers,
});

const firstDelta = new Histogram({
  name: `${PREFIX}first_delta_seconds`,
  help: "From a turn's start (its user message stored) to its first text or reasoning delta.",
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  registers,
});

const deltaLatency = new Histogram({
  name: `${PREFIX}delta_latency_seconds`,
  help: "From a chunk's arrival at its turn to its events in the turn log, which readers here get in the same tick.",
  buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1],
  registers,
});

const upstreamErrors = new Counter({
  name: `${PREFIX}upstream_errors_total`,
  help: "Turns the model's side failed, by kind (unreachable, first-byte-timeout, status, error-chunk, ...).",
  labelNames: ["kind"] as const,
  registers,
});

const databaseErrors = new Counter({
  name: `${PREFIX}database_errors_total`,
  help: "Requests answered bad_request:database, and turns whose answer could not be stored.",
  registers,
});

const unsavedAnswers = new Gauge({
  name: `${PREFIX}unsaved_answers`,
  help: "Ended turns whose answer the database did not take yet, kept on this instance to be stored again.",
  registers,
});

const poolWait = new Histogram({
  name: `${PREFIX}database_pool_wait_seconds`,
  help: "How long each query waited for one of the database pool's connections (DB_POOL_SIZE), connecting included, or until it gave up.",
  buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 3],
  registers,
});

const poolsWatched: { readonly waitingCount: number }[] = [];
new Gauge({
  name: `${PREFIX}database_pool_waiting`,
  help: "Queries waiting for one of the database pool's connections, when scraped.",
  registers,
  collect() {
    this.set(poolsWatched.reduce((sum, pool) => sum + pool.waitingCount, 0));
  },
});

const redisErrors = new Counter({ name: `${PREFIX}redis_errors_total`, help: "Redis connection errors.", registers });

const refusedBusyUser = new Counter({
  name: `${PREFIX}refused_user_running_turns_total`,
  help: "New turns refused with rate_limit:chat because their user had MAX_RUNNING_TURNS_PER_USER running.",
  registers,
});

const refusedForOverload = new Counter({
  name: `${PREFIX}refused_for_overload_total`,
  help: "New turns refused with offline:chat because the instance was overloaded, by reason.",
  labelNames: ["reason"] as const,
  registers,
});

const resumers = new Gauge({
  name: `${PREFIX}resumers`,
  help: "resumeStream subscriptions reading on this instance.",
  registers,
});

let defaultsCollected = false;
/** Node's own series (event-loop delay, heap, CPU, handles), once per process. */
export function collectProcessMetrics(): void {
  if (defaultsCollected) return;
  defaultsCollected = true;
  collectDefaultMetrics({ register: metricsRegistry, prefix: PREFIX });
}

export const metrics = {
  turnStarted: () => runningTurns.inc(),
  turnStopped: () => runningTurns.dec(),
  turnEnded: (outcome: "finished" | "aborted" | "failed", code = "") => {
    turnsEnded.inc({ outcome, code });
    if (code === "bad_request:database") databaseErrors.inc();
  },
  /** `since`: performance.now() at the turn's start. */
  firstDelta: (since: number) => firstDelta.observe((performance.now() - since) / 1000),
  /** `since`: performance.now() at the chunk's arrival. */
  delta: (since: number) => deltaLatency.observe((performance.now() - since) / 1000),
  upstreamError: (kind: string) => upstreamErrors.inc({ kind }),
  databaseError: () => databaseErrors.inc(),
  /** `since`: performance.now() when the query asked the pool for a connection. */
  poolWaited: (since: number) => poolWait.observe((performance.now() - since) / 1000),
  /** The pool's waiting queries are read at each scrape, until the returned function is called (its close). */
  watchPool: (pool: { readonly waitingCount: number }): (() => void) => {
    poolsWatched.push(pool);
    return () => {
      const at = poolsWatched.indexOf(pool);
      if (at >= 0) poolsWatched.splice(at, 1);
    };
  },
  unsavedAnswers: (count: number) => unsavedAnswers.set(count),
  redisError: () => redisErrors.inc(),
  refusedForOverload: (reason: "running_turns" | "event_loop_delay") => refusedForOverload.inc({ reason }),
  refusedBusyUser: () => refusedBusyUser.inc(),
  resumerStarted: () => resumers.inc(),
  resumerEnded: () => resumers.dec(),
};
