// WORKERS: `npm start` runs one gateway process per core behind one port when
// PostgreSQL and Redis are shared (node:cluster), and one process otherwise.
// The process test needs DATABASE_URL and REDIS_URL and is skipped without them.
import { readFileSync } from "node:fs";
import { get } from "node:http";
import { availableParallelism } from "node:os";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUserToken } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";
import { GATEWAY_NODE_FLAGS, missingNodeFlags } from "../src/config/node-flags.ts";
import { planWorkers, sharedStreamerPort } from "../src/workers.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { dropDatabase, newId } from "./support/fixtures.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { eventually, RESUME_STREAM, sendInput, subscribeWithFetch } from "./support/sse.ts";

const SECRET = "server-workers-test-secret-at-least-32-chars";
const POSTGRES = "postgresql://db.example/app";
const REDIS = "redis://cache.example:6379";
const TIMEOUT_MS = 120_000;

describe("how many processes npm start runs", () => {
  const plan = (extra: Record<string, string>) => planWorkers(parseEnv({ AUTH_SECRET: SECRET, ...extra }));

  it("one per core with DATABASE_URL and REDIS_URL, one otherwise, WORKERS when set", () => {
    expect(plan({ DATABASE_URL: POSTGRES, REDIS_URL: REDIS }).workers).toBe(availableParallelism());
    expect(plan({ DATABASE_URL: POSTGRES })).toMatchObject({ workers: 1, reason: expect.stringMatching(/REDIS_URL/) });
    expect(plan({})).toMatchObject({ workers: 1, reason: expect.stringMatching(/PGlite/) });
    expect(plan({ DATABASE_URL: POSTGRES, REDIS_URL: REDIS, WORKERS: "1" }).workers).toBe(1);
    expect(plan({ DATABASE_URL: POSTGRES, REDIS_URL: REDIS, WORKERS: "3" }).workers).toBe(3);
  });

  it("warns when the workers' built-in streamers would share a fixed STREAMER_PORT", () => {
    const shared = (extra: Record<string, string>) => {
      const env = parseEnv({ AUTH_SECRET: SECRET, DATABASE_URL: POSTGRES, REDIS_URL: REDIS, ...extra });
      return sharedStreamerPort(env, planWorkers(env));
    };
    expect(shared({ WORKERS: "2", STREAMER_PORT: "4011" })).toBe(true);
    expect(shared({ WORKERS: "2" })).toBe(false);
    expect(shared({ WORKERS: "1", STREAMER_PORT: "4011" })).toBe(false);
    expect(shared({ WORKERS: "2", STREAMER_PORT: "4011", STREAMER_URL: "http://streamer.example" })).toBe(false);
  });

  it("npm start passes the gateway's Node flags, and a process started without them is told which", () => {
    const start = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).scripts.start as string;
    const nodeArgs = start.split(" src/server.ts")[0].split(" ");
    expect(nodeArgs).toEqual(expect.arrayContaining([...GATEWAY_NODE_FLAGS]));
    expect(GATEWAY_NODE_FLAGS).toContain("--no-memory-reducer");
    expect(missingNodeFlags(["--no-memory-reducer"])).toEqual([]);
    expect(missingNodeFlags(["--inspect"])).toEqual(["--no-memory-reducer"]);
  });

  it("refuses WORKERS above 1 without both PostgreSQL and Redis, saying why", () => {
    expect(() => parseEnv({ AUTH_SECRET: SECRET, WORKERS: "2" })).toThrow(/WORKERS: more than 1 needs DATABASE_URL/);
    expect(() => parseEnv({ AUTH_SECRET: SECRET, WORKERS: "2", DATABASE_URL: POSTGRES })).toThrow(/REDIS_URL/);
    expect(() => parseEnv({ AUTH_SECRET: SECRET, WORKERS: "0" })).toThrow(/WORKERS/);
  });
});

/** GET /metrics on a connection of its own (so that successive scrapes may reach different workers). */
function scrape(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(`${url}/metrics`, { agent: false, timeout: 10_000 }, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (piece: string) => (text += piece));
      response.on("end", () => (response.statusCode === 200 ? resolve(text) : reject(new Error(text))));
    }).on("error", reject);
  });
}

/** The instance's finished turns in a scrape. */
function finishedTurns(text: string): number {
  return text
    .split("\n")
    .filter((line) => line.startsWith('chat_gateway_turns_total{outcome="finished"'))
    .reduce((sum, line) => sum + Number(line.split(" ").at(-1)), 0);
}

const shared = Boolean(process.env.DATABASE_URL && process.env.REDIS_URL);

describe.skipIf(!shared)("WORKERS=2 under npm start, on PostgreSQL and Redis", () => {
  let database: TestDatabase | undefined;
  let gateway: GatewayProcess | undefined;

  let crashed: GatewayProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
  }, TIMEOUT_MS);
  afterAll(async () => {
    await gateway?.dispose();
    await crashed?.dispose();
    await dropDatabase(database);
  });

  it(
    "a worker killed right after the instance is ready (while serving) is replaced, and the instance keeps serving",
    async () => {
      crashed = await startGatewayProcess({
        env: {
          AUTH_SECRET: SECRET,
          DATABASE_URL: database!.url!,
          REDIS_URL: process.env.REDIS_URL!,
          WORKERS: "2",
          METRICS: "true",
        },
        readyTimeoutMs: TIMEOUT_MS,
      });
      const ready = crashed.entries().find((entry) => entry.msg.startsWith("gateway ready"))!;
      const [victim, survivor] = ready.workerPids as number[];
      const token = await signUserToken(parseEnv({ AUTH_SECRET: SECRET }), { id: newId(), type: "regular" }, 3600);
      const before = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          subscribeWithFetch(crashed!.url, sendInput(`[plain] Before the crash ${i}.`), { token }),
        ),
      );
      for (const turn of before) expect(turn.events.at(-1)?.__typename).toBe("StreamFinished");
      expect(finishedTurns(await scrape(crashed.url))).toBe(4);
      // Seconds after the workers were forked: it has served, so it is no start-up failure.
      process.kill(victim, "SIGKILL");
      await crashed.waitForLog((entry) => entry.msg.startsWith("a worker died; starting another"), 30_000);
      // While its replacement starts (it answers no one yet), a scrape still answers, and the
      // dead worker's turns stay counted: a counter that went down would read as a reset.
      expect(finishedTurns(await scrape(crashed.url))).toBe(4);
      const replacement = await crashed.waitForLog(
        (entry) => entry.msg === "worker serving" && ![victim, survivor].includes(entry.pid as number),
        TIMEOUT_MS,
      );
      expect(crashed.exitStatus).toBeNull();
      expect(crashed.entries().some((entry) => entry.msg.includes("during start-up"))).toBe(false);

      // Both the survivor and the replacement serve turns.
      const turns = await Promise.all(
        Array.from({ length: 4 }, (_, i) =>
          subscribeWithFetch(crashed!.url, sendInput(`[plain] After the crash ${i}.`), { token }),
        ),
      );
      for (const turn of turns) expect(turn.events.at(-1)?.__typename).toBe("StreamFinished");

      crashed.signal("SIGTERM");
      expect(await crashed.waitForExit(60_000)).toEqual({ code: 0, signal: null });
      const exits = crashed.entries().filter((entry) => entry.msg === "worker exited");
      expect(exits.map((entry) => entry.pid).sort()).toEqual([survivor, replacement.pid].sort());
    },
    TIMEOUT_MS,
  );

  it(
    "serves turns from two workers on one port, resumes them from any connection, reports the instance on /metrics, and on SIGTERM drains every worker and exits 0",
    async () => {
      gateway = await startGatewayProcess({
        launcher: "npm",
        env: {
          AUTH_SECRET: SECRET,
          DATABASE_URL: database!.url!,
          REDIS_URL: process.env.REDIS_URL!,
          WORKERS: "2",
          MAX_RUNNING_TURNS: "10",
          METRICS: "true",
        },
        readyTimeoutMs: TIMEOUT_MS,
      });
      const ready = gateway.entries().find((entry) => entry.msg.startsWith("gateway ready"))!;
      expect(ready).toMatchObject({ workers: 2, nodeFlags: GATEWAY_NODE_FLAGS.join(" ") });
      const workerPids = ready.workerPids as number[];
      expect(new Set(workerPids).size).toBe(2);
      // Each worker has a built-in streamer of its own: a worker that shuts down cuts no other worker's turn.
      const streamers = gateway.entries().filter((entry) => entry.msg.startsWith("built-in streamer at"));
      expect(new Set(streamers.map((entry) => entry.msg)).size).toBe(2);
      // Each worker runs with npm start's Node flags, inherited from the primary.
      for (const pid of workerPids) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
        expect(argv).toEqual(expect.arrayContaining([...GATEWAY_NODE_FLAGS]));
      }
      expect(gateway.entries().find((entry) => entry.msg.startsWith("starting 2 gateway workers"))).toMatchObject({
        maxRunningTurns: 10,
        dbPoolSizePerWorker: 10,
      });

      // Concurrent requests open connections of their own, which the primary hands to the workers in turn.
      const token = await signUserToken(parseEnv({ AUTH_SECRET: SECRET }), { id: newId(), type: "regular" }, 3600);
      const inputs = Array.from({ length: 4 }, (_, i) => sendInput(`[plain] Turn number ${i}.`));
      const turns = await Promise.all(
        inputs.map((variables) => subscribeWithFetch(gateway!.url, variables, { token })),
      );
      for (const [i, turn] of turns.entries()) {
        expect(turn.completed).toBe(true);
        expect(turn.events.at(-1)?.__typename).toBe("StreamFinished");
        const text = turn.events.map((event) => event.delta ?? "").join("");
        expect(text).toContain(`Turn number ${i}.`);
      }
      const chatIds = inputs.map((variables) => variables.input.chatId);
      const resumed = await Promise.all(
        chatIds.map((chatId) =>
          subscribeWithFetch(gateway!.url, { chatId, afterSeq: null }, { token, query: RESUME_STREAM }),
        ),
      );
      for (const [i, replay] of resumed.entries()) {
        expect(replay.events.map((event) => event.__typename)).toEqual(turns[i].events.map((e) => e.__typename));
      }

      // Whichever worker answers the scrape, it reports the instance: every worker's turns.
      for (let i = 0; i < 4; i++) expect(finishedTurns(await scrape(gateway.url))).toBe(4);

      // A long answer under way when the primary gets SIGTERM: its worker drains it to the end.
      let streaming!: () => void;
      const underWay = new Promise<void>((resolve) => (streaming = resolve));
      const slow = subscribeWithFetch(gateway.url, sendInput("[plain] [slow] A long answer."), {
        token,
        onEvent: (event) => event.__typename === "TextDelta" && streaming(),
      });
      await underWay;
      gateway.signal("SIGTERM");
      const draining = () => gateway!.entries().filter((entry) => entry.msg.startsWith("draining")).length;
      await eventually(async () => draining() === 2, 20_000);
      // The idle worker shuts down at once; asking after it has, no request of this
      // client can race it closing a kept-alive connection (a reset, not an answer).
      await eventually(async () => gateway!.entries().some((entry) => entry.msg === "shut down"), 20_000);
      const refused = await subscribeWithFetch(gateway.url, sendInput("[plain] Too late."), { token });
      expect(refused.results[0]?.errors?.[0]?.extensions?.code).toBe("offline:chat");
      const drained = await slow;
      // The whole terminal event, so that a failure says which code and reason ended the turn.
      expect(drained.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
      expect(drained.events.map((event) => event.delta ?? "").join("")).toContain("Part 400 of a long answer.");
      expect(await gateway.waitForExit(60_000)).toEqual({ code: 0, signal: null });
      const exits = gateway.entries().filter((entry) => entry.msg === "worker exited");
      expect(exits.map((entry) => [entry.pid, entry.code]).sort()).toEqual(workerPids.map((pid) => [pid, 0]).sort());
      expect(gateway.entries().filter((entry) => entry.msg === "shut down")).toHaveLength(2);
    },
    TIMEOUT_MS,
  );
});
