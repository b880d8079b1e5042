// The gateway as a real process, signalled mid-turn. SIGTERM (a deploy):
// running turns end within the drain time with one typed terminal event each,
// stored and marked. SIGKILL (a crash): the clients' connections drop; a
// restarted instance (over the same PostgreSQL and Redis) stores each turn
// FAILED with what was streamed, and a client resuming there gets one terminal.
import { signUserToken } from "../../../src/auth/user-token.ts";
import { parseEnv } from "../../../src/config/env.ts";
import { createTestDatabase } from "../../../test/support/database.ts";
import { startGatewayProcess, type GatewayProcess } from "../../../test/support/gateway-process.ts";
import { bounded } from "../gateway.ts";
import { measure, type Row } from "../measure.ts";
import { resumeTurn } from "../turn.ts";
import { faultMidTurn, slowStreamer } from "./mid-turn.ts";
import type { Scale } from "./scale.ts";

let users = 0;
const newToken = () =>
  signUserToken(parseEnv({}), { id: `chaos-signal-${process.pid}-${++users}`, type: "regular", email: null }, 3600);

export async function signalled(scale: Scale, signal: "SIGTERM" | "SIGKILL", redisUrl: string): Promise<Row> {
  const fake = await slowStreamer();
  const database = await createTestDatabase();
  const env = {
    DATABASE_URL: database.url!,
    STREAMER_URL: fake.url,
    REDIS_URL: redisUrl,
    SHUTDOWN_DRAIN_SECONDS: "3",
    TURN_LEASE_SECONDS: "3",
    // One process per instance, as the scenario reads it (PostgreSQL and Redis would default to one per core).
    WORKERS: "1",
  };
  const processes: GatewayProcess[] = [];
  try {
    const first = await startGatewayProcess({ env });
    processes.push(first);
    const turns = await faultMidTurn({ url: first.url, newToken: async () => newToken() }, scale.faultTurns, () =>
      first.signal(signal),
    );
    await first.waitForExit(20_000).catch(() => undefined);
    let restarts = 0;
    if (signal === "SIGKILL") {
      const second = await startGatewayProcess({ env });
      processes.push(second);
      restarts = 1;
      await Promise.all(turns.map((turn) => resumeTurn(second.url, turn)));
    }
    const label = signal === "SIGTERM" ? "SIGTERM mid-turn (3 s drain)" : "SIGKILL mid-turn, restart";
    return await measure(label, database.url!, turns, { restarts, settleMs: 40_000 });
  } finally {
    for (const process of processes) await bounded(process.dispose(), 10_000);
    await bounded(database.drop(), 15_000);
    await fake.close();
  }
}
