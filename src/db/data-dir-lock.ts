import { randomUUID } from "node:crypto";
import { closeSync, openSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

// PGlite keeps its database in the memory of the process that opened it and
// writes its files from there: a second process on the same DATA_DIR reads a
// copy, and the two diverge (each sees only its own writes) until one
// overwrites the other's files. So one process holds a DATA_DIR at a time.
const LOCK_FILE = "gateway.lock";

export interface LockTimings {
  /** How often the holder touches its lock file. */
  heartbeatMs: number;
  /** A lock untouched this long has no holder left (one this process cannot see). */
  staleMs: number;
}

const TIMINGS: LockTimings = { heartbeatMs: 5_000, staleMs: 15_000 };

interface Holder {
  pid: number;
  /** Where `pid` means something: the machine's boot and the pid namespace (a container has its own). */
  space: string;
  token: string;
}

/**
 * Claims `dir` for this process (`dir/gateway.lock`: its pid, its pid
 * namespace, a token; touched every heartbeat while held) and returns the
 * release. A lock whose process is gone is taken over. A holder this process
 * can check (same machine and pid namespace) is alive while its pid is; one
 * it cannot (another container on a shared volume) is alive while it touches
 * the lock, so this waits up to `staleMs` for its heartbeat to stop (a
 * container restarted after a crash) and throws, naming the holder, if it goes on.
 */
export async function lockDataDir(dir: string, timings: LockTimings = TIMINGS): Promise<() => void> {
  const path = join(dir, LOCK_FILE);
  const self: Holder = { pid: process.pid, space: pidSpace(), token: randomUUID() };
  const deadline = Date.now() + timings.staleMs + timings.heartbeatMs;
  for (;;) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, JSON.stringify(self));
      closeSync(fd);
      return holding(path, self, timings);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readHolder(path, self);
    if (holder && holder.space === self.space) {
      if (holder.pid !== self.pid && isAlive(holder.pid)) throw inUse(dir, path, `process ${holder.pid}`);
    } else if (holder && Date.now() - lastTouched(path) < timings.staleMs) {
      if (Date.now() > deadline) throw inUse(dir, path, `process ${holder.pid} of another machine or container`);
      await sleep(Math.min(timings.heartbeatMs, 1_000));
      continue;
    }
    rmSync(path, { force: true });
  }
}

function holding(path: string, self: Holder, { heartbeatMs }: LockTimings): () => void {
  const heartbeat = setInterval(() => {
    const now = new Date();
    try {
      utimesSync(path, now, now);
    } catch {
      // Gone (deleted by hand): the next start takes it as free, as it is.
    }
  }, heartbeatMs);
  heartbeat.unref();
  return () => {
    clearInterval(heartbeat);
    // Only its own: a lock taken over meanwhile is the new holder's.
    if (readHolder(path, self)?.token === self.token) rmSync(path, { force: true });
  };
}

function inUse(dir: string, path: string, who: string): Error {
  return new Error(
    `DATA_DIR ${dir} is in use by ${who}: the embedded database serves one gateway process. ` +
      `Stop that one, give this one another DATA_DIR, or set DATABASE_URL to run several instances ` +
      `(delete ${path} if no gateway runs there).`,
  );
}

/** The lock's holder; a lock of an earlier version (its pid alone) counts as of this machine and namespace. */
function readHolder(path: string, self: Holder): Holder | null {
  let text: string;
  try {
    text = readFileSync(path, "utf8").trim();
  } catch {
    return null;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text), space: self.space, token: "" };
  try {
    const holder = JSON.parse(text) as Partial<Holder>;
    if (typeof holder.pid === "number" && typeof holder.space === "string" && typeof holder.token === "string") {
      return holder as Holder;
    }
  } catch {
    // Half-written (its holder died writing it) or not ours: nobody holds it.
  }
  return null;
}

function lastTouched(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

/** This process's pid namespace on this boot of this machine ("" parts where /proc does not say). */
function pidSpace(): string {
  const read = (read: () => string) => {
    try {
      return read().trim();
    } catch {
      return "";
    }
  };
  return [
    hostname(),
    read(() => readFileSync("/proc/sys/kernel/random/boot_id", "utf8")),
    read(() => readlinkSync("/proc/self/ns/pid")),
  ].join(" ");
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it lives, under another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
