// bench/capacity.ts, section `redis`: the same gateway with REDIS_URL set and
// unset, side by side in one run, each on a fresh database of the same
// PostgreSQL server, in front of one zero-delay streamer: the first delta of
// sequential [plain] turns (interleaved on/off) and the deltas per second of
// concurrent [long] turns (on, off, off, on).
import { openStream, gatewaySpec, type StreamResult } from "./client.ts";
import type { User } from "./paced.ts";
import { fixed, median, percentile, table } from "./stats.ts";
import { clock } from "./trace.ts";

export interface RedisOnOffSettings {
  warmup: number;
  turns: number;
  streams: number;
  seconds: number;
  longDeltas: number;
}

export interface Side {
  label: string;
  url: string;
}

interface Throughput {
  deltas: number;
  wallMs: number;
  failed: number;
}

async function turn(side: Side, user: User, text: string, timeoutMs: number): Promise<StreamResult> {
  return openStream(gatewaySpec(side.url, user.token, text, timeoutMs)).done;
}

export async function measureRedisOnOff(
  sides: [on: Side, off: Side],
  users: User[],
  settings: RedisOnOffSettings,
  fail: (problem: string) => void,
): Promise<string> {
  let next = 0;
  const user = () => users[next++ % users.length];
  const first: number[][] = [[], []];
  for (let i = 0; i < settings.warmup + settings.turns; i++) {
    for (const s of i % 2 ? [0, 1] : [1, 0]) {
      const result = await turn(sides[s], user(), "[plain] How long until the first word?", 15_000);
      if (result.status !== "finished" || result.firstDelta === null) fail(`redis ${sides[s].label}: ${result.detail}`);
      else if (i >= settings.warmup) first[s].push(result.firstDelta - result.t0);
    }
  }
  const rates: Throughput[][] = [[], []];
  for (const s of [0, 1, 1, 0]) {
    const deadline = clock() + settings.seconds * 1000;
    const start = clock();
    const row: Throughput = { deltas: 0, wallMs: 0, failed: 0 };
    await Promise.all(
      Array.from({ length: settings.streams }, async () => {
        do {
          const result = await turn(sides[s], user(), `[long:${settings.longDeltas}] Tell me everything.`, 60_000);
          row.deltas += result.deltas;
          if (result.status !== "finished") {
            row.failed++;
            fail(`redis ${sides[s].label} throughput: ${result.detail}`);
            break;
          }
        } while (clock() < deadline);
      }),
    );
    row.wallMs = clock() - start;
    rates[s].push(row);
  }
  const rate = (rows: Throughput[]) =>
    rows.reduce((sum, r) => sum + r.deltas, 0) / (rows.reduce((sum, r) => sum + r.wallMs, 0) / 1000);
  const rows = sides.map((side, s) => [
    side.label,
    String(first[s].length),
    fixed(percentile(first[s], 50)),
    fixed(percentile(first[s], 99)),
    fixed(rate(rates[s]), 0),
    String(rates[s].reduce((sum, r) => sum + r.failed, 0)),
  ]);
  return [
    table(
      `Redis on/off: first delta of sequential [plain] turns (${settings.turns} each after ${settings.warmup} warm-up, interleaved), ms; deltas/s of ${settings.streams} concurrent [long:${settings.longDeltas}] streams (2 x ${settings.seconds} s each)`,
      ["gateway", "turns", "first delta p50", "p99", "deltas/s", "failed"],
      rows,
    ),
    `   Redis on / off: first delta p50 ${fixed(median(first[0]) / median(first[1]))}, deltas/s ${fixed(rate(rates[0]) / rate(rates[1]))}`,
  ].join("\n");
}
