// Preloaded into bench gateways when BENCH_LIVE_HEAP=1 (with --expose-gc):
// on SIGUSR2, a full collection, then what survived it on stdout as one JSON
// line. Live memory per stream is what the streams hold; the RSS growth the
// paced table shows adds the headroom V8's heap keeps between collections.
const collect = (globalThis as { gc?: () => void }).gc;
if (!collect) throw new Error("live-heap-probe.ts needs --expose-gc");

process.on("SIGUSR2", () => {
  collect();
  const memory = process.memoryUsage();
  process.stdout.write(`${JSON.stringify({ liveHeap: memory.heapUsed + memory.external })}\n`);
});
