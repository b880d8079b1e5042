// `npm run chaos`: the reliability suite. Runs each fault scenario against the
// machine's PostgreSQL and Redis (loopback; each scenario makes and drops its
// own database) and prints one table row per scenario. `--quick` (or
// CHAOS_QUICK=1) runs fewer turns; `--only <word>` runs the scenarios whose
// name contains the word. Not part of `npm test`.
import { setLogLevel } from "../src/log.ts";
import { markdownTable } from "./chaos/table.ts";
import type { Row } from "./chaos/measure.ts";
import { clientDisconnects } from "./chaos/scenarios/client-disconnects.ts";
import { databaseRefused, databaseStalled } from "./chaos/scenarios/database-faults.ts";
import { hostileChunks } from "./chaos/scenarios/hostile-chunks.ts";
import { redisRefused } from "./chaos/scenarios/redis-refused.ts";
import { FULL, QUICK } from "./chaos/scenarios/scale.ts";
import { signalled } from "./chaos/scenarios/signals.ts";
import { upstreamKills } from "./chaos/scenarios/upstream-kills.ts";

// The gateways under test log every fault they meet; the table is the output here.
setLogLevel((process.env.LOG_LEVEL as "error" | undefined) ?? "error");

const args = process.argv.slice(2);
const quick = args.includes("--quick") || process.env.CHAOS_QUICK === "1";
const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
const scale = quick ? QUICK : FULL;
const databaseUrl = process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/postgres";
const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
// The scenarios' databases are made on this server (test/support/database.ts reads it).
process.env.DATABASE_URL = databaseUrl;

const scenarios: [string, () => Promise<Row>][] = [
  ["upstream-kills", () => upstreamKills(scale)],
  ["client-disconnects", () => clientDisconnects(scale)],
  ["hostile-chunks", () => hostileChunks(scale)],
  ["database-stalled", () => databaseStalled(scale, databaseUrl)],
  ["database-refused", () => databaseRefused(scale, databaseUrl)],
  ["redis-refused", () => redisRefused(scale, redisUrl)],
  ["sigterm", () => signalled(scale, "SIGTERM", redisUrl)],
  ["sigkill", () => signalled(scale, "SIGKILL", redisUrl)],
];

// No scenario may hang the run: each gets a bound, the whole run another.
const SCENARIO_BOUND_MS = 120_000;
setTimeout(() => {
  console.error("chaos: the run exceeded 8 minutes; stopping");
  process.exit(2);
}, 480_000).unref();

const rows: Row[] = [];
const startedAt = new Date();
for (const [name, run] of scenarios) {
  if (only && !name.includes(only)) continue;
  const began = performance.now();
  try {
    let timer: NodeJS.Timeout | undefined;
    const row = await Promise.race([
      run(),
      new Promise<never>(
        (_, reject) =>
          (timer = setTimeout(() => reject(new Error(`no result within ${SCENARIO_BOUND_MS} ms`)), SCENARIO_BOUND_MS)),
      ),
    ]).finally(() => clearTimeout(timer));
    rows.push(row);
    console.error(`chaos: ${name} done in ${Math.round((performance.now() - began) / 1000)} s`);
  } catch (error) {
    console.error(`chaos: ${name} did not complete: ${(error as Error).message}`);
  }
}
console.log(
  `\nChaos run ${startedAt.toISOString()}${quick ? " (quick)" : ""}, ${Math.round((Date.now() - startedAt.getTime()) / 1000)} s\n`,
);
console.log(markdownTable(rows));
process.exit(0);
