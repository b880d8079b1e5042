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
