import { randomUUID } from "node:crypto";
import { linkSync, readFileSync, readlinkSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "../log.ts";

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

// Stale after 30 s: PGlite runs SQL on the main thread, so a long migration pauses the heartbeat too.
const TIMINGS: LockTimings = { heartbeatMs: 5_000, staleMs: 30_000 };

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
 * A holder that finds its lock taken over exits (the two would diverge).
 */
export async function lockDataDir(dir: string, timings: LockTimings = TIMINGS): Promise<() => void> {
  const path = join(dir, LOCK_FILE);
  const self: Holder = { pid: process.pid, space: pidSpace(), token: randomUUID() };
  const deadline = Date.now() + timings.staleMs + timings.heartbeatMs;
  // A holder this process cannot check, by its heartbeat: the lock's mtime as first seen and
  // when, on this process's clock (the holder's may differ), so only a change counts.
  let seen: { mtimeMs: number; at: number } | null = null;
  for (;;) {
    if (claim(path, self)) return holding(path, self, timings);
    const holder = readHolder(path, self);
    if (holder && holder.space === self.space) {
      if (holder.pid !== self.pid && isAlive(holder.pid)) throw inUse(dir, path, `process ${holder.pid}`);
    } else if (holder) {
      const mtimeMs = lastTouched(path);
      if (seen === null || seen.mtimeMs !== mtimeMs) seen = { mtimeMs, at: Date.now() };
      if (Date.now() - seen.at < timings.staleMs) {
        if (Date.now() > deadline) throw inUse(dir, path, `process ${holder.pid} of another machine or container`);
        await sleep(Math.min(timings.heartbeatMs, 1_000));
        continue;
      }
    }
    rmSync(path, { force: true });
    seen = null;
  }
}

/** Creates the lock whole or not at all (a reader never sees it half-written); false when one exists. */
function claim(path: string, self: Holder): boolean {
  const draft = `${path}.${self.token}`;
  writeFileSync(draft, JSON.stringify(self));
  try {
    linkSync(draft, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    return false;
  } finally {
    rmSync(draft, { force: true });
  }
}

function holding(path: string, self: Holder, { heartbeatMs }: LockTimings): () => void {
  const heartbeat = setInterval(() => {
    const holder = readHolder(path, self);
    if (holder && holder.token !== self.token) {
      // Another process took the directory over (this one's heartbeat stalled past the
      // lock's bound): two processes on one embedded database would diverge, so this one stops.
      log.error("DATA_DIR was taken over by another gateway process; stopping this one", { holder: holder.pid });
      process.exit(1);
    }
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
  const read = (get: () => string) => {
    try {
      return get().trim();
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
