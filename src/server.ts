import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.ts";
import { createGatewayServer } from "./http/coalesce-writes.ts";
import { parseEnv, streamerUrlOf, type Env } from "./config/env.ts";
import { checkSecrets } from "./config/secrets.ts";
import { openDatabase } from "./db/client.ts";
import { applyMigrations } from "./db/migrate.ts";
import { log, setLogLevel } from "./log.ts";
import { startStreamer, type RunningStreamer } from "./streamer/server.ts";
import { closeUpstreamAgents } from "./turn/upstream.ts";

export interface RunningGateway {
  url: string;
  env: Env;
  close(): Promise<void>;
}

/** Opens the database, applies migrations and serves the gateway. */
export async function startGateway(env: Env): Promise<RunningGateway> {
  checkSecrets(env, "gateway");
  const db = await openDatabase({ url: env.DATABASE_URL, dataDir: env.DATA_DIR });
  const applied = await applyMigrations(db);
  if (applied.length > 0) log.info("migrations applied", { applied });
  const streamer = await builtInStreamerIfNeeded(env);
  const { yoga, services } = await createApp({ env, db, streamerUrl: streamer?.url ?? streamerUrlOf(env) });
  const server = createGatewayServer(yoga, { keepAliveMs: env.KEEP_ALIVE_TIMEOUT_MS });
  await listen(server, env.PORT, env.HOST);
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST === "0.0.0.0" ? "localhost" : env.HOST}:${port}`;
  return {
    url,
    env,
    async close() {
      // Running turns are stopped and stored before the database goes away.
      await services.turns.drain("The gateway is shutting down.");
      await services.guestSessions.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await streamer?.close();
      await closeUpstreamAgents();
      await db.close();
    },
  };
}

/** Proxy mode with no STREAMER_URL: the built-in streamer, as a server of its own. */
async function builtInStreamerIfNeeded(env: Env): Promise<RunningStreamer | null> {
  if (env.STREAM_MODE !== "proxy" || streamerUrlOf(env)) return null;
  const streamer = await startStreamer(env, { port: env.STREAMER_PORT ?? 0, host: "127.0.0.1" });
  log.info(`built-in streamer at ${streamer.url} (${env.OPENAI_API_KEY ? "OpenAI" : "offline mock model"})`);
  return streamer;
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
  log.info(`gateway ready at ${gateway.url}/graphql${env.GRAPHIQL ? " (GraphiQL there in a browser)" : ""}`, {
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
