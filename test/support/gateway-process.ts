// The gateway as a real process, started the way the README says to run it,
// for what only a real process shows: signals (SIGTERM drains, SIGKILL crashes),
// exit codes, restarts over the same data. Each process runs in a process group
// of its own, so `dispose()` ends it and anything it left (an orphaned child).
import { spawn, type ChildProcess } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDatabase } from "../../src/db/client.ts";
import { applyMigrations } from "../../src/db/migrate.ts";
import { GATEWAY_NODE_FLAGS } from "../../src/config/node-flags.ts";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/**
 * How to launch it: `npm` runs `npm start` (what the README documents), `node`
 * runs `node src/server.ts` as the main process (Node 24 from node_modules).
 */
export type Launcher = "npm" | "node";

export interface GatewayProcessOptions {
  /**
   * Settings on top of the defaults below. Nothing else is inherited from the
   * test's environment (no DATABASE_URL, no REDIS_URL): pass them here.
   */
  env?: Record<string, string>;
  launcher?: Launcher;
  /** How long to wait for the ready log line and a 200 from /ready (default 60 s: the machine may be busy). */
  readyTimeoutMs?: number;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One JSON log line of the gateway (src/log.ts), or `{ msg }` for any other output. */
export type LogEntry = { level?: string; msg: string } & Record<string, unknown>;

export interface GatewayProcess {
  /** The gateway's base URL (http://127.0.0.1:<port>). */
  url: string;
  /** The spawned process: npm with the npm launcher, else the gateway itself. */
  pid: number;
  /** The gateway's own process id, as it logged it when ready. */
  gatewayPid: number;
  /** The data directory it runs on (embedded PGlite), when no DATABASE_URL was given. */
  dataDir: string | undefined;
  /** Every line it wrote to stdout and stderr so far. */
  lines: string[];
  /** The lines parsed as log entries. */
  entries(): LogEntry[];
  /** Sends a signal to the spawned process, as an orchestrator does to the main process. */
  signal(signal: NodeJS.Signals): void;
  /** Sends a signal to the gateway's own process (for SIGKILL, say, under npm). */
  signalGateway(signal: NodeJS.Signals): void;
  /** Sends a signal to the spawned process and waits until it has exited (nothing when it already has). */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Sends a signal to the whole process group, as a terminal's Ctrl-C does. */
  signalGroup(signal: NodeJS.Signals): void;
  /** Null while it runs. */
  exitStatus: ExitStatus | null;
  /** Resolves when the spawned process exits; rejects after `timeoutMs` with its last log lines. */
  waitForExit(timeoutMs?: number): Promise<ExitStatus>;
  /** Resolves with the first log entry that matches (a substring of `msg`, or a predicate). */
  waitForLog(match: string | ((entry: LogEntry) => boolean), timeoutMs?: number): Promise<LogEntry>;
  /** Kills the process group if it still runs and removes the data directory this helper created. */
  dispose(): Promise<void>;
}

/**
 * A fresh directory holding an empty, migrated embedded database, to start a
 * gateway on (and restart one on the same data); the caller removes it. A new
 * PGlite database takes about 20 s to create on a busy machine, so one is made
 * per test process and copied (well under a second).
 */
export async function embeddedDataDir(): Promise<string> {
  template ??= createTemplate();
  const dir = mkdtempSync(join(tmpdir(), "gateway-data-"));
  cpSync(await template, dir, { recursive: true });
  return dir;
}

let template: Promise<string> | undefined;

async function createTemplate(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), "gateway-template-"));
  const db = await openDatabase({ dataDir: dir });
  try {
    await applyMigrations(db);
  } finally {
    await db.close();
  }
  process.once("exit", () => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Starts the gateway, waits until it logs that it is ready and /ready answers
 * 200, and returns a handle. Defaults: loopback, free ports for the gateway and
 * the built-in streamer, info logs, an instant mock model, no guest-session
 * limit, one process (WORKERS=1: the handle's pid and log are the instance's),
 * and a fresh embedded database (removed by dispose) unless `env` names
 * DATABASE_URL or DATA_DIR.
 */
export async function startGatewayProcess(options: GatewayProcessOptions = {}): Promise<GatewayProcess> {
  const overrides = options.env ?? {};
  const ownDataDir = overrides.DATABASE_URL || overrides.DATA_DIR ? undefined : await embeddedDataDir();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: process.env.HOME ?? tmpdir(),
    PORT: "0",
    HOST: "127.0.0.1",
    STREAMER_PORT: "0",
    LOG_LEVEL: "info",
    MOCK_DELTA_DELAY_MS: "0",
    GUEST_SESSIONS_PER_HOUR: "0",
    WORKERS: "1",
    ...(ownDataDir ? { DATA_DIR: ownDataDir } : {}),
    ...overrides,
  };
  const launcher = options.launcher ?? "node";
  const child =
    launcher === "npm"
      ? spawn("npm", ["start", "--silent"], { cwd: ROOT, env, detached: true, stdio: ["ignore", "pipe", "pipe"] })
      : // As README's container line runs it.
        spawn(join(ROOT, "node_modules/.bin/node"), [...GATEWAY_NODE_FLAGS, "src/server.ts"], {
          cwd: ROOT,
          env,
          detached: true,
          stdio: ["ignore", "pipe", "pipe"],
        });
  const handle = track(child, ownDataDir);
  try {
    const ready = await handle.waitForLog(
      (entry) => entry.msg.startsWith("gateway ready"),
      options.readyTimeoutMs ?? 60_000,
    );
    handle.url = String(ready.url);
    handle.gatewayPid = Number(ready.pid);
    await waitUntilReady(handle, options.readyTimeoutMs ?? 60_000);
    return handle;
  } catch (error) {
    await handle.dispose();
    throw error;
  }
}

function track(child: ChildProcess, ownDataDir: string | undefined): GatewayProcess {
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  const heard = () => {
    for (const listener of listeners) listener();
  };
  for (const stream of [child.stdout!, child.stderr!]) {
    let partial = "";
    stream.setEncoding("utf8");
    stream.on("data", (text: string) => {
      const pieces = (partial + text).split("\n");
      partial = pieces.pop() ?? "";
      lines.push(...pieces.filter((line) => line.trim() !== ""));
      heard();
    });
  }
  const exited = new Promise<ExitStatus>((resolve) => {
    child.once("exit", (code, signal) => {
      handle.exitStatus = { code, signal };
      resolve(handle.exitStatus);
      heard();
    });
  });
  const tail = () => lines.slice(-30).join("\n");
  const entries = () => lines.map(parseEntry);
  const kill = (pid: number, signal: NodeJS.Signals) => {
    try {
      process.kill(pid, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
    }
  };

  const handle: GatewayProcess = {
    url: "",
    pid: child.pid!,
    gatewayPid: child.pid!,
    dataDir: ownDataDir,
    lines,
    entries,
    exitStatus: null,
    signal: (signal) => kill(child.pid!, signal),
    signalGateway: (signal) => kill(handle.gatewayPid, signal),
    signalGroup: (signal) => kill(-child.pid!, signal),
    async kill(signal) {
      if (handle.exitStatus) return;
      kill(child.pid!, signal);
      await handle.waitForExit();
    },
    async waitForExit(timeoutMs = 30_000) {
      const timer = timeout(timeoutMs);
      try {
        return await Promise.race([
          exited,
          timer.promise.then(() =>
            Promise.reject(new Error(`still running after ${timeoutMs} ms; last output:\n${tail()}`)),
          ),
        ]);
      } finally {
        timer.cancel();
      }
    },
    async waitForLog(match, timeoutMs = 30_000) {
      const matches = typeof match === "string" ? (entry: LogEntry) => entry.msg.includes(match) : match;
      const timer = timeout(timeoutMs);
      let check!: () => void;
      try {
        return await new Promise<LogEntry>((resolve, reject) => {
          check = () => {
            const found = entries().find(matches);
            if (found) resolve(found);
            else if (handle.exitStatus)
              reject(
                new Error(`exited (${JSON.stringify(handle.exitStatus)}) before the log line; last output:\n${tail()}`),
              );
          };
          listeners.add(check);
          check();
          void timer.promise.then(() =>
            reject(new Error(`no such log line within ${timeoutMs} ms; last output:\n${tail()}`)),
          );
        });
      } finally {
        listeners.delete(check);
        timer.cancel();
      }
    },
    async dispose() {
      if (!handle.exitStatus) {
        kill(-child.pid!, "SIGKILL");
        await exited;
      } else {
        // The launcher may be gone while what it started still runs.
        kill(-child.pid!, "SIGKILL");
      }
      if (ownDataDir) rmSync(ownDataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

function parseEntry(line: string): LogEntry {
  try {
    const value = JSON.parse(line);
    if (value && typeof value === "object" && typeof value.msg === "string") return value as LogEntry;
  } catch {
    // not a log line of the gateway's
  }
  return { msg: line };
}

async function waitUntilReady(gateway: GatewayProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await fetch(`${gateway.url}/ready`, { signal: AbortSignal.timeout(2_000) }).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (gateway.exitStatus)
      throw new Error(`the gateway exited while starting:\n${gateway.lines.slice(-30).join("\n")}`);
    if (Date.now() > deadline) throw new Error(`/ready did not answer 200 within ${timeoutMs} ms (last: ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function timeout(ms: number) {
  let timer: NodeJS.Timeout | undefined;
  const promise = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return { promise, cancel: () => clearTimeout(timer) };
}
