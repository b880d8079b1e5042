// SIGTERM drains: the real gateway process, started as the README says to run
// it (`npm start`, or `node src/server.ts` as a container's main process), with
// turns running against a streamer the test holds. /ready answers 503, new
// turns are refused with offline:chat, running turns finish and are stored,
// those longer than SHUTDOWN_DRAIN_SECONDS are stopped and stored ABORTED,
// and the process exits by itself. Runs on PGlite and PostgreSQL.
import { once } from "node:events";
import { connect, createServer, type AddressInfo, type Socket } from "node:net";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { signUserToken } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";
import { openDatabase } from "../src/db/client.ts";
import { createTestDatabase, onPostgres, type TestDatabase } from "./support/database.ts";
import { respond, textDeltas, turnHead, heldTextTurn } from "./support/fake-streamer.ts";
import { dropDatabase, expectError, newUser } from "./support/fixtures.ts";
import { startGatewayProcess, type GatewayProcess, type Launcher } from "./support/gateway-process.ts";
import { CHAT_WITH_MESSAGES, eventually, sendInput, subscribeWithFetch, streamedText } from "./support/sse.ts";
import { useFakeStreamer } from "./support/file-hooks.ts";

const SECRET = "shutdown-drain-test-secret-at-least-32-chars";
const env = parseEnv({ AUTH_SECRET: SECRET });
const FIRST_PART = "The first half of the answer, ";
const SECOND_PART = "and the second half after the signal.";
// Spawning the gateway and a drain take seconds on a busy machine.
const TIMEOUT_MS = 120_000;

const fake = useFakeStreamer();
let database: TestDatabase | undefined;
let gateway: GatewayProcess | undefined;
let release: () => void = () => {};

beforeAll(async () => {
  if (onPostgres) database = await createTestDatabase();
});
afterEach(async () => {
  release();
  await gateway?.dispose();
  gateway = undefined;
});
afterAll(() => dropDatabase(database));

/** The answer streams its first half, then waits for `release()` before the rest. */
function heldAnswer() {
  const { promise: released, resolve } = Promise.withResolvers<void>();
  release = resolve;
  fake.handle(heldTextTurn(FIRST_PART, SECOND_PART, () => released));
}

/** The answer streams its first half, then nothing until the gateway hangs up. */
function endlessAnswer() {
  fake.handle(respond([...turnHead(), ...textDeltas("t1", FIRST_PART)], "hang"));
}

async function start(launcher: Launcher, drainSeconds: number, databaseUrl = database?.url): Promise<GatewayProcess> {
  gateway = await startGatewayProcess({
    launcher,
    env: {
      AUTH_SECRET: SECRET,
      STREAMER_URL: fake.url,
      SHUTDOWN_DRAIN_SECONDS: String(drainSeconds),
      ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
      // With Redis, the drain also leaves the stop bus.
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      // One process, whose log this file reads (test/server-workers.test.ts drains several).
      WORKERS: "1",
    },
  });
  return gateway;
}

/** Starts a turn and resolves once its first half has streamed. */
async function startTurn(url: string, token: string) {
  const variables = sendInput("Tell me something in two halves.");
  let streamed!: () => void;
  const halfway = new Promise<void>((resolve) => (streamed = resolve));
  const done = subscribeWithFetch(url, variables, {
    token,
    onEvent: (_event, all) => {
      if (streamedText(all) === FIRST_PART) streamed();
    },
  });
  await Promise.race([
    halfway,
    done.then((result) => Promise.reject(new Error(`ended early: ${JSON.stringify(result)}`))),
  ]);
  return { variables, done };
}

async function gql(url: string, query: string, variables: Record<string, unknown>, token: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  return (await response.json()) as {
    data?: any;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  };
}

const MESSAGES_LEFT = /* GraphQL */ `query { me { messagesLeftToday } }`;

/** /ready once the drain has begun: 503, saying so. */
async function drainingReadiness(url: string) {
  return eventually(async () => {
    const response = await fetch(`${url}/ready`);
    return response.status === 503 ? { status: response.status, body: await response.json() } : null;
  }, 10_000);
}

/** The stored assistant message and stream row, read after the process exited. */
async function stored(gw: GatewayProcess, messageId: string, streamId: string) {
  const db = database?.db ?? (await openDatabase({ dataDir: gw.dataDir! }));
  try {
    const message = await db.prisma.message.findUnique({ where: { id: messageId } });
    const stream = await db.prisma.stream.findUnique({ where: { id: streamId } });
    return {
      message,
      stream,
      text: (message?.parts as { text?: string }[] | undefined)?.map((p) => p.text ?? "").join(""),
    };
  } finally {
    if (!database) await db.close();
  }
}

/** A TCP proxy to PostgreSQL that can go silent: connections stay open, nothing passes. */
async function startStallableProxy(target: URL) {
  const sockets = new Set<Socket>();
  let stalled = false;
  const server = createServer((client) => {
    sockets.add(client);
    if (stalled) return;
    const upstream = connect(Number(target.port || 5432), target.hostname);
    sockets.add(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    for (const socket of [client, upstream]) socket.on("error", () => {});
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const proxied = new URL(target);
  proxied.host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: proxied.toString(),
    stall() {
      stalled = true;
      for (const socket of sockets) {
        socket.unpipe();
        socket.pause();
      }
    },
    close() {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("SIGTERM drains", () => {
  it(
    "under `npm start`: /ready 503, new turns refused with offline:chat, the running turn finishes and is stored, the process exits 0",
    async () => {
      const gw = await start("npm", 60);
      const token = await signUserToken(env, { id: newUser().id, type: "regular" }, 3600);
      heldAnswer();
      const turn = await startTurn(gw.url, token);
      const quotaBefore = (await gql(gw.url, MESSAGES_LEFT, {}, token)).data.me.messagesLeftToday;

      // As an orchestrator does: SIGTERM to the main process, here npm.
      gw.signal("SIGTERM");
      expect(await drainingReadiness(gw.url)).toEqual({ status: 503, body: { ready: false, draining: true } });

      const upstreamCalls = fake.requests.length;
      const refused = sendInput("A new question during the drain.");
      const refusal = await subscribeWithFetch(gw.url, refused, { token });
      expect(refusal.events).toEqual([]);
      expectError(refusal.results[0], "offline:chat");
      expect(refusal.results[0].errors![0].extensions).toMatchObject({ retryable: true, retryAfterSeconds: 2 });
      expect(refusal.results[0].errors![0].message).toMatch(/again/);
      // Nothing stored, charged or sent upstream for it.
      expect((await gql(gw.url, CHAT_WITH_MESSAGES, { id: refused.input.chatId }, token)).data.chat).toBeNull();
      expect((await gql(gw.url, MESSAGES_LEFT, {}, token)).data.me.messagesLeftToday).toBe(quotaBefore);
      expect(fake.requests.length).toBe(upstreamCalls);

      release();
      const result = await turn.done;
      expect(result.completed).toBe(true);
      const finished = result.events.at(-1)!;
      expect(finished.__typename).toBe("StreamFinished");
      expect(finished.message.status).toBe("COMPLETE");
      expect(streamedText(result.events)).toBe(FIRST_PART + SECOND_PART);

      expect(await gw.waitForExit(30_000)).toEqual({ code: 0, signal: null });
      await eventually(async () => !isRunning(gw.gatewayPid), 5_000);
      const { message, stream, text } = await stored(
        gw,
        result.events[0].assistantMessageId,
        result.events[0].streamId,
      );
      expect(message?.status).toBe("complete");
      expect(text).toBe(FIRST_PART + SECOND_PART);
      expect(stream?.status).toBe("finished");
      expect(gw.entries().find((e) => e.msg === "turns drained")).toMatchObject({ finished: 1, stopped: 0 });
    },
    TIMEOUT_MS,
  );

  it(
    "a turn longer than SHUTDOWN_DRAIN_SECONDS is stopped: its client gets StreamAborted, it is stored ABORTED, the process exits 0",
    async () => {
      // `node src/server.ts` as a container's main process.
      const gw = await start("node", 1);
      const token = await signUserToken(env, { id: newUser().id, type: "regular" }, 3600);
      endlessAnswer();
      const turn = await startTurn(gw.url, token);
      const upstream = fake.requests.at(-1)!;

      gw.signal("SIGTERM");
      const result = await turn.done;
      expect(result.completed).toBe(true);
      const aborted = result.events.at(-1)!;
      expect(aborted.__typename).toBe("StreamAborted");
      expect(aborted.reason).toBe("The gateway is shutting down.");
      expect(aborted.partialMessage.status).toBe("ABORTED");
      expect(streamedText(result.events)).toBe(FIRST_PART);
      await eventually(async () => upstream.closedAt !== null, 5_000);
      expect(upstream.closedEarly).toBe(true);

      expect(await gw.waitForExit(30_000)).toEqual({ code: 0, signal: null });
      const { message, stream, text } = await stored(
        gw,
        result.events[0].assistantMessageId,
        result.events[0].streamId,
      );
      expect(message?.status).toBe("aborted");
      expect(text).toBe(FIRST_PART);
      expect(stream?.status).toBe("aborted");
      expect(gw.entries().find((e) => e.msg === "turns drained")).toMatchObject({ finished: 0, stopped: 1 });
    },
    TIMEOUT_MS,
  );

  it(
    "a second SIGTERM cuts the drain short: the turn is stopped and stored, the process exits",
    async () => {
      const gw = await start("node", 600);
      const token = await signUserToken(env, { id: newUser().id, type: "regular" }, 3600);
      endlessAnswer();
      const turn = await startTurn(gw.url, token);

      gw.signal("SIGTERM");
      await drainingReadiness(gw.url);
      gw.signal("SIGTERM");
      const result = await turn.done;
      expect(result.events.at(-1)).toMatchObject({
        __typename: "StreamAborted",
        partialMessage: { status: "ABORTED" },
      });
      expect(await gw.waitForExit(30_000)).toEqual({ code: 0, signal: null });
      const { message } = await stored(gw, result.events[0].assistantMessageId, result.events[0].streamId);
      expect(message?.status).toBe("aborted");
    },
    TIMEOUT_MS,
  );

  it.skipIf(!onPostgres)(
    "the process exits even when the database stops answering mid-drain, logging what was left",
    async () => {
      const proxy = await startStallableProxy(new URL(database!.url!));
      try {
        const gw = await start("node", 1, proxy.url);
        const token = await signUserToken(env, { id: newUser().id, type: "regular" }, 3600);
        endlessAnswer();
        const turn = await startTurn(gw.url, token);
        proxy.stall();
        gw.signal("SIGTERM");
        const status = await gw.waitForExit(30_000);
        // With every database wait bounded, the turn can end (FAILED) and the exit be clean.
        if (status.code !== 0) {
          expect(status).toEqual({ code: 1, signal: null });
          const left = gw.entries().find((e) => e.msg.startsWith("shutdown ran out of time"));
          expect(left).toMatchObject({ level: "error", stage: expect.any(String), runningTurns: expect.any(Array) });
        }
        // The client's stream ends either way: with a terminal event or with the connection.
        await turn.done.catch(() => {});
      } finally {
        proxy.close();
      }
    },
    TIMEOUT_MS,
  );

  it(
    "Ctrl-C under `npm start` (SIGINT to the process group, forwarded again by npm) drains rather than stops",
    async () => {
      const gw = await start("npm", 60);
      const token = await signUserToken(env, { id: newUser().id, type: "regular" }, 3600);
      heldAnswer();
      const turn = await startTurn(gw.url, token);

      gw.signalGroup("SIGINT");
      await drainingReadiness(gw.url);
      release();
      const result = await turn.done;
      expect(result.events.at(-1)).toMatchObject({ __typename: "StreamFinished", message: { status: "COMPLETE" } });
      expect(await gw.waitForExit(30_000)).toEqual({ code: 0, signal: null });
    },
    TIMEOUT_MS,
  );
});
