import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.ts";
import { parseEnv, type Env } from "./config/env.ts";
import { openDatabase } from "./db/client.ts";
import { applyMigrations } from "./db/migrate.ts";
import { log, setLogLevel } from "./log.ts";

export interface RunningGateway {
  url: string;
  env: Env;
  close(): Promise<void>;
}

/** Opens the database, applies migrations and serves the gateway. */
export async function startGateway(env: Env): Promise<RunningGateway> {
  const db = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR });
  const applied = await applyMigrations(db);
  if (applied.length > 0) log.info("migrations applied", { applied });
  const { yoga } = createApp({ env, db });
  const server = createServer(yoga);
  await listen(server, env.PORT, env.HOST);
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST === "0.0.0.0" ? "localhost" : env.HOST}:${port}`;
  return {
    url,
    env,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await db.close();
    },
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
}

async function main() {
  const env = parseEnv();
  setLogLevel(env.LOG_LEVEL);
  const gateway = await startGateway(env);
  log.info(`gateway ready: GraphiQL at ${gateway.url}/graphql`, {
    database: env.DATABASE_URL ? "postgresql" : `pglite (${env.DATA_DIR})`,
  });
  const shutdown = async (signal: string) => {
    log.info("shutting down", { signal });
    await gateway.close();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}

if (import.meta.main) await main();
