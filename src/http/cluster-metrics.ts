import cluster, { type Worker } from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import { log } from "../log.ts";
import { metricsRegistry } from "../metrics.ts";

// With WORKERS above 1, a scrape of /metrics reaches one worker; it asks the
// primary, which gathers every worker's series and sums them as prom-client
// does (counters, histograms and most gauges), so /metrics describes the whole
// instance. The primary gathers them itself, not with prom-client's
// clusterMetrics(): that fails the whole scrape while one worker is starting
// (it has no listener yet), and a dead worker's counters would leave the sum,
// which Prometheus reads as a counter reset.
const REQUEST = "gateway:metrics";
const REPLY = "gateway:metrics-reply";
const WORKER_REQUEST = "gateway:worker-metrics";
const WORKER_REPLY = "gateway:worker-metrics-reply";
// A worker that has not answered by then (one starting) counts with its last answer.
const WORKER_TIMEOUT_MS = 2_000;
const REPLY_TIMEOUT_MS = 5_000;

type Series = Awaited<ReturnType<typeof metricsRegistry.getMetricsAsJSON>>;
type Reply = { type: typeof REPLY; id: number; body?: string; error?: string };
type WorkerReply = { type: typeof WORKER_REPLY; id: number; series: Series };

let nextId = 0;

/** Whether this process is one of several workers (its own series are only part of the instance). */
export const inWorker = (): boolean => cluster.isWorker;

/** In a worker: sends this worker's series when the primary gathers them. */
export function answerPrimary(): void {
  process.on("message", (message: { type?: string; id: number }) => {
    if (message?.type !== WORKER_REQUEST) return;
    void metricsRegistry.getMetricsAsJSON().then(
      // A callback, so that a channel closed meanwhile (the primary exiting) is not an uncaught 'error'.
      (series) =>
        process.send?.({ type: WORKER_REPLY, id: message.id, series } satisfies WorkerReply, undefined, {}, ignore),
      (error: unknown) => log.warn("this worker's metrics could not be read", { error }),
    );
  });
}

/** In a worker: the instance's series, every worker's together. */
export function instanceMetrics(): Promise<string> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done({ type: REPLY, id, error: "the primary did not answer" }), REPLY_TIMEOUT_MS);
    const onMessage = (message: Reply) => {
      if (message?.type === REPLY && message.id === id) done(message);
    };
    const done = (reply: Reply) => {
      clearTimeout(timer);
      process.off("message", onMessage);
      if (reply.body !== undefined) resolve(reply.body);
      else reject(new Error(`cluster metrics: ${reply.error}`));
    };
    process.on("message", onMessage);
    process.send?.({ type: REQUEST, id });
  });
}

/** In the primary: answers the workers' requests for the instance's series. */
export function serveInstanceMetrics(): void {
  const gathered = new InstanceSeries();
  cluster.on("exit", (worker) => gathered.retire(worker.id));
  cluster.on("message", (worker, message: { type?: string; id: number }) => {
    if (message?.type !== REQUEST) return;
    // The asker may have exited meanwhile (a drain, a crash): sent with a callback, a closed
    // channel is that callback's error, not an uncaught 'error' that would end the primary.
    const answer = (reply: Reply) => worker.isConnected() && worker.send(reply, undefined, {}, ignore);
    gathered.text().then(
      (body) => answer({ type: REPLY, id: message.id, body }),
      (error: unknown) => answer({ type: REPLY, id: message.id, error: String(error) }),
    );
  });
}

/**
 * The instance's series: each live worker's latest, and the counters of the
 * workers that are gone as they last reported them, so that a sum never
 * goes down while the instance lives.
 */
export class InstanceSeries {
  private readonly latest = new Map<number, Series>();
  /** What the workers that are gone left, as one series once a scrape has summed them. */
  private retired: Series[] = [];
  private compacting = false;
  private nextRequest = 0;

  /** A worker left: its counters and histograms stay in the sum; its gauges go with it. */
  retire(workerId: number): void {
    const last = this.latest.get(workerId);
    this.latest.delete(workerId);
    if (!last) return;
    // prom-client's typings call the type an enum; it is the type's name at run time.
    const kept = last.filter((series) => ["counter", "histogram"].includes(series.type as unknown as string));
    this.retired.push(kept);
  }

  /** Asks every live worker, waits WORKER_TIMEOUT_MS at most, and sums. */
  async text(workers: readonly Worker[] = Object.values(cluster.workers ?? {}).filter(isWorker)): Promise<string> {
    await Promise.all(
      workers.map(async (worker) => {
        const series = await this.ask(worker);
        // One that exited while asked is retired already: set again, it would count twice.
        if (series && !worker.isDead()) this.latest.set(worker.id, series);
      }),
    );
    // Summed into one, so that workers dying over the instance's life do not pile up; a
    // worker retired meanwhile stays after the ones summed.
    const count = this.retired.length;
    if (count > 1 && !this.compacting) {
      this.compacting = true;
      try {
        const summed = (await AggregatorRegistry.aggregate(this.retired.slice(0, count)).getMetricsAsJSON()) as Series;
        this.retired.splice(0, count, summed);
      } finally {
        this.compacting = false;
      }
    }
    return AggregatorRegistry.aggregate([...this.latest.values(), ...this.retired]).metrics();
  }

  /** Latest series as a worker reported them (for a test). */
  record(workerId: number, series: Series): void {
    this.latest.set(workerId, series);
  }

  private ask(worker: Worker): Promise<Series | null> {
    const id = this.nextRequest++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => done(null), WORKER_TIMEOUT_MS);
      const onMessage = (message: WorkerReply) => {
        if (message?.type === WORKER_REPLY && message.id === id) done(message.series);
      };
      const done = (series: Series | null) => {
        clearTimeout(timer);
        worker.off("message", onMessage);
        resolve(series);
      };
      worker.on("message", onMessage);
      worker.send({ type: WORKER_REQUEST, id }, undefined, {}, (error) => {
        if (error) done(null);
      });
    });
  }
}

function ignore(): void {}

function isWorker(worker: Worker | undefined): worker is Worker {
  return worker?.isConnected() === true;
}
