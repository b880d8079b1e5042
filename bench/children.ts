// The parent side of the bench's child processes: spawn with an IPC channel,
// wait for `ready`, send commands with a timeout, stop (SIGKILL if it lingers).
import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { Command, Ready, Reply } from "./child.ts";

export interface BenchChild {
  name: string;
  url: string;
  pid: number;
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  stop(timeoutMs?: number): Promise<void>;
}

export interface SpawnOptions {
  /** File in bench/, e.g. "gateway-main.ts". */
  file: string;
  env: Record<string, string | undefined>;
  readyTimeoutMs: number;
  execArgv?: string[];
}

/** Children that are still running, so the bench can stop them on any exit path. */
export const liveChildren = new Set<ChildProcess>();

export async function spawnChild(name: string, options: SpawnOptions): Promise<BenchChild> {
  const path = fileURLToPath(new URL(options.file, import.meta.url));
  const child = spawn(process.execPath, [...(options.execArgv ?? []), path], {
    env: options.env,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  liveChildren.add(child);
  let exited = false;
  let stopping = false;
  const exit = new Promise<number | null>((resolve) => {
    child.once("exit", (code, signal) => {
      exited = true;
      if (!stopping) console.error(`bench: ${name} (pid ${child.pid}) exited unexpectedly (${signal ?? code})`);
      liveChildren.delete(child);
      resolve(code ?? (signal ? 128 : null));
    });
  });

  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  child.on("message", (message: Reply | Ready) => {
    if ("ready" in message) return;
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(`${name}: ${message.error}`));
  });
  void exit.then((code) => {
    for (const waiter of pending.values()) waiter.reject(new Error(`${name} exited (${code}) during a command`));
    pending.clear();
  });

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name} not ready within ${options.readyTimeoutMs} ms`)),
      options.readyTimeoutMs,
    );
    child.on("message", (message: Reply | Ready) => {
      if ("ready" in message) {
        clearTimeout(timer);
        resolve(message.url);
      }
    });
    void exit.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) before it was ready`));
    });
  }).catch(async (error: unknown) => {
    stopping = true;
    if (!exited) child.kill("SIGTERM");
    await kill(child, exit, 5_000);
    throw error;
  });

  return {
    name,
    url,
    pid: child.pid ?? -1,
    call<T>(cmd: string, args?: unknown, timeoutMs = 30_000): Promise<T> {
      if (exited) return Promise.reject(new Error(`${name} is not running`));
      const id = nextId++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`${name}: "${cmd}" got no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (value) => {
            clearTimeout(timer);
            resolve(value as T);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        child.send({ id, cmd, args } satisfies Command);
      });
    },
    async stop(timeoutMs = 20_000) {
      if (exited && !stopping) throw new Error(`${name} had exited (${await exit}) before the end of the run`);
      stopping = true;
      if (exited) return;
      if (child.connected) child.send({ id: 0, cmd: "shutdown" } satisfies Command);
      else child.kill("SIGTERM");
      await kill(child, exit, timeoutMs);
      const code = await exit;
      if (code !== 0) throw new Error(`${name} exited with ${code} on shutdown`);
    },
  };
}

/** Waits for the exit; SIGKILL after `graceMs`. */
async function kill(child: ChildProcess, exit: Promise<unknown>, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<"late">((resolve) => {
    timer = setTimeout(() => resolve("late"), graceMs);
  });
  if ((await Promise.race([exit, late])) === "late") {
    child.kill("SIGKILL");
    await exit;
  }
  clearTimeout(timer);
}

/** Last resort on the way out (e.g. the overall time limit): SIGKILL what is left. */
export function killAllChildren(): void {
  for (const child of liveChildren) child.kill("SIGKILL");
}
