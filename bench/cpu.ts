// CPU time for the bench's "CPU per turn" table: a Node process's own
// (process.cpuUsage, served to the parent by bench/child.ts) and the sum over
// every PostgreSQL server process on this machine, read from /proc.
import { readdirSync, readFileSync } from "node:fs";

/** User + system CPU of this process, ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** CPU ms used so far by each process named `postgres`, by pid. */
export type PostgresCpu = Map<string, number>;

/**
 * The CPU used so far by every process named `postgres` (the server, its
 * backends, its background writers), from /proc/<pid>/schedstat (ns). Null
 * where /proc cannot tell (not Linux).
 */
export function postgresCpu(): PostgresCpu | null {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return null;
  }
  const used: PostgresCpu = new Map();
  for (const pid of pids) {
    try {
      if (readFileSync(`/proc/${pid}/comm`, "utf8").trim() !== "postgres") continue;
      used.set(pid, Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6);
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return used.size > 0 ? used : null;
}

/**
 * CPU ms the PostgreSQL processes used between two readings: a process that
 * started in between counts from zero; one that ended in between is lost.
 */
export function postgresCpuBetween(before: PostgresCpu | null, after: PostgresCpu | null): number | null {
  if (!before || !after) return null;
  let ms = 0;
  for (const [pid, used] of after) ms += used - (before.get(pid) ?? 0);
  return ms;
}

/** A process and its children (the workers of a node:cluster primary), from /proc/<pid>/stat's ppid. */
export function processTree(root: number): number[] {
  const tree = [root];
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((name) => /^\d+$/.test(name));
  } catch {
    return tree;
  }
  for (const pid of pids) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === root) tree.push(Number(pid));
    } catch {
      // ended while we looked
    }
  }
  return tree;
}

/** User + system CPU ms of these processes so far, from /proc/<pid>/schedstat; ended ones count 0. */
export function procCpuMs(pids: readonly number[]): number {
  let ms = 0;
  for (const pid of pids) {
    try {
      ms += Number(readFileSync(`/proc/${pid}/schedstat`, "utf8").split(" ")[0]) / 1e6;
    } catch {
      // ended
    }
  }
  return ms;
}

/** Resident set size of these processes, bytes, from /proc/<pid>/status. */
export function procRssBytes(pids: readonly number[]): number {
  let bytes = 0;
  for (const pid of pids) {
    try {
      const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
      if (match) bytes += Number(match[1]) * 1024;
    } catch {
      // ended
    }
  }
  return bytes;
}

/**
 * CPU ms the whole machine has been busy so far (every process and the
 * kernel: user, nice, system, irq and softirq time; not idle, iowait or
 * steal), from /proc/stat; null where it cannot tell.
 */
export function machineBusyMs(): number | null {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const [user, nice, system, , , irq, softirq] = fields;
    // In USER_HZ ticks, 100 a second on Linux.
    return (user + nice + system + irq + softirq) * 10;
  } catch {
    return null;
  }
}
