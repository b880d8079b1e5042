// The gateway for bench/capacity.ts as `npm start` runs it: `node src/server.ts`
// in a process of its own (with WORKERS, a node:cluster primary and its
// workers), its URL read from the "gateway ready" log line. CPU and RSS are read
// from /proc for the primary and every worker.
import { spawn } from "node:child_process";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { processTree, procCpuMs, procRssBytes } from "./cpu.ts";
import { GATEWAY_NODE_FLAGS } from "../src/config/node-flags.ts";

const SERVER = fileURLToPath(new URL("../src/server.ts", import.meta.url));
const LIVE_HEAP_PROBE = fileURLToPath(new URL("./live-heap-probe.ts", import.meta.url));

export interface GatewayProcess {
  url: string;
  pid: number;
  /** CPU ms of the primary and its workers so far. */
  cpuMs(): number;
  /** RSS of the primary and its workers, bytes. */
  rssBytes(): number;
  /**
   * Heap and external bytes left after a full collection, when the process
   * was started with BENCH_LIVE_HEAP=1 (bench/live-heap-probe.ts); else null.
   */
  liveHeapBytes(): Promise<number | null>;
  /** SIGTERM (a drain) and the exit code. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export async function startGatewayProcess(
  name: string,
  env: Record<string, string | undefined>,
  readyTimeoutMs = 90_000,
  server = SERVER,
  flags: string[] = [],
): Promise<GatewayProcess> {
  // BENCH_CPU_PROF=<dir>: a V8 CPU profile of each gateway process (workers too), written at its exit.
  const profile = process.env.BENCH_CPU_PROF ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [];
  // BENCH_GATEWAY_FLAGS: Node flags for every gateway process (--trace-gc, --perf-basic-prof, --import=<preload>).
  const common = (process.env.BENCH_GATEWAY_FLAGS ?? "").split(" ").filter(Boolean);
  // BENCH_LIVE_HEAP=1: the live heap can be asked for (a full collection each time: it costs the run a pause).
  const liveHeap = process.env.BENCH_LIVE_HEAP === "1";
  if (liveHeap) common.push("--expose-gc", `--import=${LIVE_HEAP_PROBE}`);
  // As npm start runs it; `flags` after them, so a compare can turn one back (--memory-reducer).
  const child = spawn(process.execPath, [...GATEWAY_NODE_FLAGS, ...profile, ...common, ...flags, server], {
    env: { ...env, LOG_LEVEL: "info" },
    stdio: "pipe",
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const tail: string[] = [];
  let onLiveHeap: ((bytes: number) => void) | null = null;
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} not ready within ${readyTimeoutMs} ms`)), readyTimeoutMs);
    let buffer = "";
    const onData = (piece: Buffer) => {
      buffer += piece.toString("utf8");
      let newline: number;
      while ((newline = buffer.indexOf("\n")) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.startsWith('{"liveHeap":')) {
          onLiveHeap?.(JSON.parse(line).liveHeap as number);
          continue;
        }
        tail.push(line);
        if (tail.length > 20) tail.shift();
        if (line.includes("gateway ready at")) {
          clearTimeout(timer);
          resolve(JSON.parse(line).url as string);
        }
        if (process.env.BENCH_LOG_LEVEL) process.stderr.write(`${name}: ${line}\n`);
      }
    };
    child.stderr.on("data", onData);
    child.stdout.on("data", onData);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready:\n${tail.join("\n")}`));
    });
  });
  const pid = child.pid ?? -1;
  return {
    url,
    pid,
    cpuMs: () => procCpuMs(processTree(pid)),
    rssBytes: () => procRssBytes(processTree(pid)),
    async liveHeapBytes() {
      if (!liveHeap) return null;
      const bytes = new Promise<number>((resolve) => (onLiveHeap = resolve));
      child.kill("SIGUSR2");
      const timeout = sleep(10_000).then(() => null);
      return Promise.race([bytes, timeout]);
    },
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}
