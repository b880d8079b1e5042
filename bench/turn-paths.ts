// The processes of `npm run bench` (bench/turn.ts) and one turn through any of them.
import { randomUUID } from "node:crypto";
import { signInternalToken } from "../src/auth/internal-token.ts";
import { spawnChild, type BenchChild } from "./children.ts";
import { gatewaySpec, openStream, uiSpec, type StreamResult, type StreamSpec } from "./client.ts";
import { baseEnv, intSetting, secrets, type BenchDatabase } from "./setup.ts";
import { GATEWAY_NODE_FLAGS } from "../src/config/node-flags.ts";

// ---------------------------------------------------------------- setup

export interface Stack {
  streamer: BenchChild;
  pipe: BenchChild;
  gateway: BenchChild;
}

export async function startStack(database: BenchDatabase, started: BenchChild[]): Promise<Stack> {
  const gcFlag = ["--expose-gc"];
  const gatewayFlags = [...gcFlag, ...GATEWAY_NODE_FLAGS];
  const streamer = await spawnChild("streamer", {
    file: "streamer-main.ts",
    env: { ...baseEnv(), MOCK_DELTA_DELAY_MS: "0" },
    readyTimeoutMs: 30_000,
    execArgv: gcFlag,
  });
  started.push(streamer);
  const [pipe, gateway] = await Promise.all([
    spawnChild("pipe", {
      file: "pipe-main.ts",
      env: { ...baseEnv(), BENCH_UPSTREAM_URL: streamer.url },
      readyTimeoutMs: 30_000,
      execArgv: gcFlag,
    }).then((child) => {
      started.push(child);
      return child;
    }),
    spawnChild("gateway", {
      file: "gateway-main.ts",
      env: {
        ...baseEnv(),
        ...database.childEnv,
        PORT: "0",
        HOST: "127.0.0.1",
        STREAMER_URL: streamer.url,
        STREAM_MODE: "proxy",
        QUOTA_REGULAR_PER_DAY: "1000000",
        // Refusals for event-loop delay would measure the other work on this shared machine.
        OVERLOAD_EVENT_LOOP_DELAY_MS: "0",
      },
      readyTimeoutMs: 90_000,
      execArgv: process.env.BENCH_CPU_PROF
        ? [
            ...gatewayFlags,
            "--cpu-prof",
            `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`,
            `--cpu-prof-interval=${intSetting("BENCH_CPU_PROF_INTERVAL", 1000)}`,
          ]
        : gatewayFlags,
    }).then((child) => {
      started.push(child);
      return child;
    }),
  ]);
  return { streamer, pipe, gateway };
}

// ---------------------------------------------------------------- turns

export interface Paths {
  stack: Stack;
  userTokens: string[];
  userIds: string[];
  /** The next user of sequential turns (see `rotate`). */
  turnsSoFar: number;
}

/**
 * Turns rotate through the user pool so that no user sends more than a real
 * one could under the default quota (50 a day): the quota count is bounded by
 * the quota, and one user with thousands of messages a day would make that
 * count, not the turn, the thing measured. Workers of a concurrent run keep
 * users of their own (worker w uses w, w + n, w + 2n, ...).
 */
export function rotate(paths: Paths, worker = 0, workers = 1): number {
  const perWorker = Math.max(1, Math.floor(paths.userIds.length / workers));
  return worker + (paths.turnsSoFar++ % perWorker) * workers;
}

export type PathName = "gateway" | "pipe" | "streamer";

/** A turn's spec for `path`; user `u` (tokens are minted before timing starts). */
export async function specFor(
  paths: Paths,
  path: PathName,
  u: number,
  text: string,
  timeoutMs: number,
  chatId: string = randomUUID(),
): Promise<StreamSpec> {
  if (path === "gateway") return gatewaySpec(paths.stack.gateway.url, paths.userTokens[u], text, timeoutMs, chatId);
  const token = await signInternalToken(secrets.NEXTJS_INTERNAL_TOKEN, { userId: paths.userIds[u], chatId });
  const base = path === "pipe" ? paths.stack.pipe.url : paths.stack.streamer.url;
  return uiSpec(base, token, chatId, text, timeoutMs);
}

export async function runTurn(
  paths: Paths,
  path: PathName,
  u: number,
  text: string,
  timeoutMs: number,
): Promise<StreamResult> {
  return openStream(await specFor(paths, path, u, text, timeoutMs)).done;
}

export async function warmUsers(paths: Paths): Promise<void> {
  // First sight of a user upserts it; do that before anything is timed.
  const url = `${paths.stack.gateway.url}/graphql`;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < paths.userTokens.length) {
        const token = paths.userTokens[next++];
        const response = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: "{ me { id } }" }),
          signal: AbortSignal.timeout(15_000),
        });
        const body = (await response.json()) as { errors?: unknown };
        if (!response.ok || body.errors) throw new Error(`warm-up query failed: ${JSON.stringify(body)}`);
      }
    }),
  );
}
