import { getHeapSpaceStatistics } from "node:v8";

/**
 * Node flags for a gateway process. A running turn's per-delta objects live
 * about as long as the pace between deltas; with V8's default young
 * generation (1 MB semi-spaces, grown slowly) hundreds of streams at once
 * have them promoted to the old generation, which then fills and is
 * mark-compacted: more GC work and more RSS per stream. 16 MB semi-spaces
 * from the start let them die young (BENCHMARKS.md, "What was tried"); the
 * memory is committed only as it is used.
 *
 * V8 takes these only on the command line (or NODE_OPTIONS): `npm start`
 * passes them (package.json, held to this list by a test), workers get them
 * from their primary, and running `node src/server.ts` by hand should too.
 */
export const HEAP_FLAGS = ["--min-semi-space-size=16"];

/** `execArgv` with every HEAP_FLAGS flag the caller did not set itself. */
export function withHeapFlags(execArgv: readonly string[]): string[] {
  const named = (flag: string) => flag.split("=")[0];
  const set = new Set(execArgv.map(named));
  return [...HEAP_FLAGS.filter((flag) => !set.has(named(flag))), ...execArgv];
}

/** The young generation's semi-space size in MB, as this process runs (for the ready log). */
export function semiSpaceMb(): number {
  const space = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
  return space ? Math.round(space.space_size / 2 ** 20) : 0;
}
