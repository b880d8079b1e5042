// The instance's /metrics under WORKERS: the primary's sum of every worker's
// series (src/http/cluster-metrics.ts). A worker that is gone leaves its
// counters in the sum, so no counter of the instance goes down (Prometheus
// would read that as a reset); its gauges go with it.
import { Counter, Gauge, Registry } from "prom-client";
import { expect, test } from "vitest";
import { InstanceSeries } from "../src/http/cluster-metrics.ts";

async function workerSeries(turns: number, running: number) {
  const registry = new Registry();
  new Counter({ name: "turns_total", help: "turns", registers: [registry] }).inc(turns);
  new Gauge({ name: "running_turns", help: "running", registers: [registry] }).set(running);
  return registry.getMetricsAsJSON();
}

const value = (text: string, name: string) =>
  Number(
    text
      .split("\n")
      .find((line) => line.startsWith(`${name} `))
      ?.split(" ")[1],
  );

test("sums the workers; a worker that died keeps its counters in the sum, not its gauges", async () => {
  const instance = new InstanceSeries();
  instance.record(1, await workerSeries(4, 2));
  instance.record(2, await workerSeries(3, 1));
  let text = await instance.text([]);
  expect(value(text, "turns_total")).toBe(7);
  expect(value(text, "running_turns")).toBe(3);

  instance.retire(1);
  // Its replacement starts from nothing.
  instance.record(3, await workerSeries(0, 0));
  text = await instance.text([]);
  expect(value(text, "turns_total")).toBe(7);
  expect(value(text, "running_turns")).toBe(1);

  instance.retire(2);
  instance.retire(3);
  instance.record(4, await workerSeries(1, 1));
  text = await instance.text([]);
  expect(value(text, "turns_total")).toBe(8);
  expect(value(text, "running_turns")).toBe(1);
});
