// The child-process side of the bench's IPC: a `ready` message with the URL,
// then commands from the parent (heap after gc, CPU used, trace on/off, shutdown).
// Parent side: bench/children.ts.
import { ownCpuMs } from "./cpu.ts";
import type { Tracer } from "./trace.ts";

export type Command = { id: number; cmd: string; args?: unknown };
export type Reply = { id: number; ok: true; result: unknown } | { id: number; ok: false; error: string };
export type Ready = { ready: true; url: string };

export type Handlers = Record<string, (args: unknown) => unknown>;

const SHUTDOWN_LIMIT_MS = 15_000;

/** process.memoryUsage() after two full collections (needs --expose-gc). */
export async function heapAfterGc(): Promise<NodeJS.MemoryUsage> {
  if (typeof globalThis.gc !== "function") throw new Error("run with --expose-gc");
  globalThis.gc();
  await new Promise((resolve) => setImmediate(resolve));
  globalThis.gc();
  return process.memoryUsage();
}

/**
 * Announces `url` to the parent and serves its commands until `shutdown`
 * (or until the parent goes away), then runs `close` and exits.
 */
export function serveParent(
  url: string,
  options: { tracer?: Tracer; handlers?: Handlers; close: () => Promise<void> },
) {
  if (!process.send) throw new Error("bench children run with an IPC channel (spawned by bench/turn.ts)");
  const send = (message: Reply | Ready) => process.send?.(message);
  let closing = false;

  async function shutdown(code: number) {
    if (closing) return;
    closing = true;
    setTimeout(() => process.exit(code || 2), SHUTDOWN_LIMIT_MS).unref();
    try {
      await options.close();
    } catch (error) {
      console.error(`bench child ${process.pid}: close failed:`, error);
      code = 1;
    }
    process.exit(code);
  }

  const handlers: Handlers = {
    heap: () => heapAfterGc(),
    cpu: () => ownCpuMs(),
    "trace-start": () => options.tracer?.start(),
    "trace-stop": () => options.tracer?.stop() ?? [],
    ...options.handlers,
  };

  process.on("message", async (message: Command) => {
    if (message.cmd === "shutdown") return void shutdown(0);
    const handler = handlers[message.cmd];
    try {
      if (!handler) throw new Error(`unknown command ${message.cmd}`);
      send({ id: message.id, ok: true, result: await handler(message.args) });
    } catch (error) {
      send({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) });
    }
  });
  // The parent died or dropped us: do not linger.
  process.on("disconnect", () => void shutdown(1));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.once(signal, () => void shutdown(1));
  send({ ready: true, url });
}
