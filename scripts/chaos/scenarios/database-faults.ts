// PostgreSQL goes away mid-turn: stalled (packets dropped, a TCP proxy that
// holds everything) or refused (connections reset, the port closed). Promise:
// every client gets one typed terminal event within the database bounds; the
// user turn (stored when the turn began) stays; the partial answer is stored
// and marked FAILED once the database is back, with no restart.
import { startStallProxy } from "../../../test/support/stall-proxy.ts";
import { startGateway } from "../gateway.ts";
import { measure, type Row } from "../measure.ts";
import { startRefusingProxy } from "../tcp-proxy.ts";
import { faultMidTurn, slowStreamer } from "./mid-turn.ts";
import type { Scale } from "./scale.ts";

const SHORT = { connectMs: 1_000, acquireMs: 1_000, statementMs: 1_000, queryMs: 1_500 };
const SHORT_ENV = {
  DB_CONNECT_TIMEOUT_MS: "1000",
  DB_POOL_ACQUIRE_TIMEOUT_MS: "1000",
  DB_STATEMENT_TIMEOUT_MS: "1000",
  DB_QUERY_TIMEOUT_MS: "1500",
};

export async function databaseStalled(scale: Scale, serverUrl: string): Promise<Row> {
  const fake = await slowStreamer();
  const proxy = await startStallProxy(serverUrl);
  const gateway = await startGateway({ STREAMER_URL: fake.url, ...SHORT_ENV }, { via: proxy.via, timeouts: SHORT });
  try {
    const turns = await faultMidTurn(gateway, scale.faultTurns, () => proxy.pause());
    proxy.resume();
    return await measure(`database stalled mid-turn (${SHORT.queryMs} ms bound)`, gateway.database.url!, turns);
  } finally {
    proxy.resume();
    await gateway.close();
    await proxy.close();
    await fake.close();
  }
}

export async function databaseRefused(scale: Scale, serverUrl: string): Promise<Row> {
  const fake = await slowStreamer();
  const proxy = await startRefusingProxy(serverUrl);
  const gateway = await startGateway({ STREAMER_URL: fake.url, ...SHORT_ENV }, { via: proxy.via, timeouts: SHORT });
  try {
    const turns = await faultMidTurn(gateway, scale.faultTurns, () => proxy.refuse());
    await proxy.restore();
    return await measure("database refused mid-turn", gateway.database.url!, turns);
  } finally {
    await proxy.restore().catch(() => undefined);
    await gateway.close();
    await proxy.close();
    await fake.close();
  }
}
