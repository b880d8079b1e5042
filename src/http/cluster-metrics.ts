import cluster from "node:cluster";
import { AggregatorRegistry } from "prom-client";
import { metricsRegistry } from "../metrics.ts";

// With WORKERS above 1, a scrape of /metrics reaches one worker; it asks the
// primary, which gathers every worker's series (prom-client sums counters,
// histograms and most gauges), so /metrics describes the whole instance.
const REQUEST = "gateway:metrics";
const REPLY = "gateway:metrics-reply";
// prom-client gives up on a silent worker after 5 s.
const REPLY_TIMEOUT_MS = 6_000;

type Reply = { type: typeof REPLY; id: number; body?: string; error?: string };

let nextId = 0;

/** Whether this process is one of several workers (its own series are only part of the instance). */
export const inWorker = (): boolean => cluster.isWorker;

/** In a worker: sends this worker's series when the primary gathers them (prom-client's listener). */
export function answerPrimary(): void {
  new AggregatorRegistry();
  AggregatorRegistry.setRegistries([metricsRegistry]);
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
  const aggregator = new AggregatorRegistry();
  cluster.on("message", (worker, message: { type?: string; id: number }) => {
    if (message?.type !== REQUEST) return;
    aggregator.clusterMetrics().then(
      (body) => worker.send({ type: REPLY, id: message.id, body } satisfies Reply),
      (error: unknown) => worker.send({ type: REPLY, id: message.id, error: String(error) } satisfies Reply),
    );
  });
}
