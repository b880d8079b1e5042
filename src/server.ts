import cluster from "node:cluster";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.ts";
import { checkRedis, openMigratedDatabase } from "./startup.ts";
import { failStartup, StartupError } from "./config/startup-error.ts";
import { createGatewayServer } from "./http/coalesce-writes.ts";
import { parseEnv, streamerUrlOf, type Env } from "./config/env.ts";
import { nodeFlagsNote } from "./config/node-flags.ts";
import { checkSecrets, secretsOf } from "./config/secrets.ts";
import { log, redactInLogs, setLogLevel } from "./log.ts";
import { closeServer, drainOnSignals } from "./http/shutdown.ts";
import { startStreamer, type RunningStreamer } from "./streamer/server.ts";
import type { DrainOptions } from "./turn/drain.ts";
import { closeUpstreamAgents } from "./turn/upstream.ts";
import { planWorkers, runPrimary, type WorkerReady } from "./workers.ts";

// How long the responses under way (the drained turns' last events) get to end
// before their connections are closed.
const RESPONSES_END_MS = 1_500;

export interface RunningGateway {
  url: string;
  env: Env;
  /**
   * Refuses new turns and answers 503 on /ready, lets running turns go on for
   * the grace, stops the rest (stored ABORTED), ends the open responses, and
   * closes the server, the streamer and the database.
   */
  shutdown(options?: DrainOptions): Promise<void>;
  /** Shutdown with no grace: running turns are stopped at once. */
  close(): Promise<void>;
  /** How far a shutdown got, and the turns still running (logged when it runs out of time). */
  shutdownProgress(): { stage: string; runningTurns: string[] };
}

/** Opens the database, applies migrations and serves the gateway. */
export async function startGateway(env: Env): Promise<RunningGateway> {
  checkSecrets(env, "gateway");
  const db = await openMigratedDatabase(env);
  if (env.REDIS_URL) await checkRedis(env.REDIS_URL);
  const streamer = await builtInStreamerIfNeeded(env);
  const { yoga, services, eventStreams } = await createApp({
    env,
    db,
    streamerUrl: streamer?.url ?? streamerUrlOf(env),
  });
  const server = createGatewayServer(yoga, { keepAliveMs: env.KEEP_ALIVE_TIMEOUT_MS });
  const closeServices = async () => {
    await services.guestSessions.close();
    await eventStreams.close();
    await streamer?.close();
    await db.close();
  };
  try {
    await listen(server, env.PORT, env.HOST);
  } catch (error) {
    // Nothing ran yet: what was opened for it is closed, so a caller that goes on (a test) holds nothing.
    await services.turns.drain("The gateway could not start.").catch(() => {});
    await closeServices().catch(() => {});
    throw error;
  }
  const { port } = server.address() as AddressInfo;
  const url = `http://${env.HOST === "0.0.0.0" || env.HOST === "::" ? "localhost" : urlHost(env.HOST)}:${port}`;
  let stage = "serving";
  const shutdown = async (options: DrainOptions = {}) => {
    stage = "draining turns";
    const drained = await services.turns.drain("The gateway is shutting down.", options);
    log.info("turns drained", { ...drained });
    stage = "ending open responses";
    await closeServer(server, RESPONSES_END_MS);
    stage = "closing the streamer and the database";
    await closeServices();
    await closeUpstreamAgents();
    stage = "closed";
  };
  return {
    url,
    env,
    shutdown,
    close: () => shutdown(),
    shutdownProgress: () => ({ stage, runningTurns: services.turns.runningStreamIds() }),
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
    server.once("error", (error: NodeJS.ErrnoException) => reject(listenFailure(error, port, host)));
    server.listen(port, host, () => resolve());
  });
}

/** Why the server could not listen, naming the setting to change. */
function listenFailure(error: NodeJS.ErrnoException, port: number, host: string): Error {
  const where = `${urlHost(host)}:${port}`;
  if (error.code === "EADDRINUSE") {
    return new StartupError("PORT", `cannot listen on PORT ${port}: another process listens on ${where}`, error);
  }
  if (error.code === "EACCES") {
    return new StartupError("PORT", `cannot listen on PORT ${port}: this process may not use that port`, error);
  }
  if (["ENOTFOUND", "EAI_AGAIN", "EADDRNOTAVAIL", "EAFNOSUPPORT"].includes(error.code ?? "")) {
    return new StartupError(
      "HOST",
      `cannot listen on HOST ${host}: not an address of this machine (${error.code})`,
      error,
    );
  }
  return error;
}

/** A host as it goes in a URL: an IPv6 address in brackets. */
function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

async function main() {
  const env = parseEnv();
  setLogLevel(env.LOG_LEVEL);
  redactInLogs(secretsOf(env));
  const plan = planWorkers(env);
  const starting = exitOnSignalsWhileStarting();
  // Each hand-over adds the next handlers before it removes these: a signal
  // with no listener left even for a moment is dropped (Node stops watching it).
  if (plan.workers > 1 && cluster.isPrimary) {
    runPrimary(env, plan);
    starting.handOver();
    return;
  }
  const gateway = await startGateway(env);
  drainOnSignals(gateway, env.SHUTDOWN_DRAIN_SECONDS * 1000);
  starting.handOver();
  if (cluster.isWorker) {
    log.info("worker serving", { url: gateway.url, pid: process.pid });
    process.send?.({ gatewayReady: { url: gateway.url } } satisfies WorkerReady);
    return;
  }
  log.info(`gateway ready at ${gateway.url}/graphql${env.GRAPHIQL ? " (GraphiQL there in a browser)" : ""}`, {
    url: gateway.url,
    pid: process.pid,
    workers: 1,
    why: plan.reason,
    nodeFlags: nodeFlagsNote(),
    database: env.DATABASE_URL ? "postgresql" : `pglite (${env.DATA_DIR})`,
  });
}

/**
 * SIGTERM or SIGINT before the gateway serves (the database opening, migrations
 * running): nothing was served, so nothing drains; the process says so and
 * exits 0 rather than dying silently by the signal. `handOver`, called once
 * the serving gateway's (or the primary's) handlers are in place, removes these.
 */
function exitOnSignalsWhileStarting(): { handOver(): void } {
  const onSignal = (signal: NodeJS.Signals) => {
    log.info("stopped during start-up: nothing was served yet", { signal });
    process.exit(0);
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  return {
    handOver() {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
    },
  };
}

if (import.meta.main) await main().catch(failStartup);
