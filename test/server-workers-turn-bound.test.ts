// MAX_RUNNING_TURNS bounds an instance of several workers, not each worker:
// node:cluster hands connections to the workers in turn, not by their load, so
// one worker may hold most of the turns. With WORKERS=2 and a bound of 4, one
// worker runs 3 turns while the other runs none, and a fifth turn is refused
// wherever it arrives. Needs DATABASE_URL and REDIS_URL, like WORKERS itself.
import { Agent } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUserToken } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { dropDatabase, newId } from "./support/fixtures.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { eventually, sendInput, STOP_STREAM, subscribeWithFetch, type SseSubscription } from "./support/sse.ts";

const SECRET = "server-workers-bound-test-secret-at-least-32-chars";
const TIMEOUT_MS = 120_000;
const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

interface Turn {
  chatId: string;
  /** True once StreamStarted arrived; false when the turn ended without it (refused). */
  started: Promise<boolean>;
  done: Promise<SseSubscription>;
}

describe.skipIf(!shared)("MAX_RUNNING_TURNS with WORKERS=2", () => {
  let database: TestDatabase | undefined;
  let gateway: GatewayProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  }, TIMEOUT_MS);
  afterAll(async () => {
    await gateway?.dispose();
    await dropDatabase(database);
  });

  it(
    "admits turns up to the instance's bound whichever worker they reach, refuses the next, and admits again once one ends",
    async () => {
      gateway = await startGatewayProcess({
        env: {
          AUTH_SECRET: SECRET,
          DATABASE_URL: database!.url!,
          REDIS_URL: process.env.REDIS_URL!,
          WORKERS: "2",
          MAX_RUNNING_TURNS: "4",
        },
        readyTimeoutMs: TIMEOUT_MS,
      });
      const url = gateway.url;
      const token = await signUserToken(parseEnv({ AUTH_SECRET: SECRET }), { id: newId(), type: "regular" }, 3600);
      // [hang]: the streamer sends nothing after its start, so each turn runs until it is stopped.
      // Each on a connection of its own: a reused one would reach the same worker again.
      const agents: Agent[] = [];
      const open = (text: string): Turn => {
        const variables = sendInput(`[hang] ${text}`);
        let started!: (value: boolean) => void;
        const startedOrNot = new Promise<boolean>((resolve) => (started = resolve));
        const agent = new Agent();
        agents.push(agent);
        const done = subscribeWithFetch(url, variables, {
          token,
          dispatcher: agent,
          onEvent: (event) => event.__typename === "StreamStarted" && started(true),
        });
        void done.then(
          () => started(false),
          () => started(false),
        );
        return { chatId: variables.input.chatId, started: startedOrNot, done };
      };
      // Which worker runs a turn: its Stream row's owner lease names the worker's instance.
      const ownerOf = async (turn: Turn): Promise<string> => {
        const rows = await database!.db.sql.query(`SELECT "ownerId" FROM "Stream" WHERE "chatId" = $1::uuid`, [
          turn.chatId,
        ]);
        return (rows[0] as { ownerId: string }).ownerId;
      };
      const stop = async (turn: Turn): Promise<void> => {
        const response = await fetch(`${url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
          body: JSON.stringify({ query: STOP_STREAM, variables: { chatId: turn.chatId } }),
        });
        expect(await response.json()).toEqual({ data: { stopStream: true } });
        expect((await turn.done).events.at(-1)?.__typename).toBe("StreamAborted");
      };

      // Turns until one worker runs three (more than an even split's two), stopping the other's.
      let worker: string | null = null;
      const kept: Turn[] = [];
      for (let attempt = 0; kept.length < 3 && attempt < 20; attempt++) {
        const turn = open(`Turn ${attempt}.`);
        expect(await turn.started).toBe(true);
        const owner = await ownerOf(turn);
        worker ??= owner;
        if (owner === worker) kept.push(turn);
        else await stop(turn);
      }
      expect(kept).toHaveLength(3);

      // A fourth, wherever it lands, fits the instance's bound; the next two do not, whichever worker they reach.
      const fourth = open("The fourth.");
      expect(await fourth.started).toBe(true);
      const refused = await Promise.all([open("The fifth."), open("The sixth.")].map((turn) => turn.done));
      for (const turn of refused) {
        expect(turn.events).toEqual([]);
        expect(turn.results[0]?.errors?.[0]?.extensions).toMatchObject({
          code: "offline:chat",
          retryable: true,
          retryAfterSeconds: 5,
        });
      }

      // /ready says so whichever worker answers it (each probe on a connection of its own).
      const readiness = async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 4; i++) {
          const probe = new Agent();
          const response = await fetch(`${url}/ready`, { dispatcher: probe } as RequestInit);
          statuses.push(response.status);
          await response.body?.cancel();
          await probe.close();
        }
        return statuses;
      };
      await eventually(async () => (await readiness()).every((status) => status === 503), 10_000);

      // One ends: a new turn is admitted again.
      await stop(kept.pop()!);
      const again = open("After one ended.");
      expect(await again.started).toBe(true);
      for (const turn of [...kept, fourth, again]) await stop(turn);
      await Promise.all(agents.map((agent) => agent.close()));
    },
    TIMEOUT_MS,
  );
});
