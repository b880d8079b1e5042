// The gateway in this process, on an ephemeral loopback port, over its own new
// PostgreSQL database (through `via`, a proxy, when a scenario breaks the link).
import type { AddressInfo } from "node:net";
import { createApp } from "../../src/app.ts";
import { signUserToken } from "../../src/auth/user-token.ts";
import { parseEnv, type Env } from "../../src/config/env.ts";
import { createGatewayServer } from "../../src/http/coalesce-writes.ts";
import { createTestDatabase, type TestDatabase, type TestDatabaseOptions } from "../../test/support/database.ts";

export interface ChaosGateway {
  url: string;
  env: Env;
  database: TestDatabase;
  /** A token for a new user (each turn its own user: the daily quota stays out of the way). */
  newToken(): Promise<string>;
  close(): Promise<void>;
}

export async function startGateway(
  settings: Record<string, string>,
  database: TestDatabaseOptions = {},
): Promise<ChaosGateway> {
  const db = await createTestDatabase(database);
  const env = parseEnv({ LOG_LEVEL: "silent", GUEST_SESSIONS_PER_HOUR: "0", ...settings });
  const app = await createApp({ env, db: db.db, streamerUrl: env.STREAMER_URL });
  const server = createGatewayServer(app.yoga, { keepAliveMs: env.KEEP_ALIVE_TIMEOUT_MS });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  let users = 0;
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    env,
    database: db,
    newToken: () => signUserToken(env, { id: `chaos-${process.pid}-${++users}`, type: "regular", email: null }, 3600),
    async close() {
      await bounded(app.services.turns.drain("The chaos run is over."), 15_000);
      await bounded(app.services.guestSessions.close(), 5_000);
      server.closeAllConnections();
      await bounded(new Promise<void>((resolve) => server.close(() => resolve())), 5_000);
      await bounded(app.eventStreams.close(), 5_000);
      await bounded(db.drop(), 15_000);
    },
  };
}

/** Waits for `work`, but never longer than `ms` (a broken dependency must not hang the run). */
export function bounded(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]).finally(() => clearTimeout(timer));
}
