// A database that stops answering (packets dropped, not refused): every wait
// is bounded, clients get typed refusals and terminal events, and the gateway
// heals by itself when the database answers again. PostgreSQL only: a TCP
// proxy in front of the server stalls the connections.
import { setTimeout as sleep } from "node:timers/promises";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { DatabaseTimeouts } from "../src/db/client.ts";
import { createTestDatabase, onPostgres, type TestDatabase } from "./support/database.ts";
import { expectError, expectOk, failOnUnhandledRejections, insertUser, newUser } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { eventually, sendInput, subscribeWithFetch, TERMINAL_TYPES, type StreamEvent } from "./support/sse.ts";
import { startStallProxy, type StallProxy } from "./support/stall-proxy.ts";

failOnUnhandledRejections();

const CHATS = /* GraphQL */ `
  query Chats { chats(first: 5) { edges { node { id title } } } }
`;
const CHAT = /* GraphQL */ `
  query Chat($id: ID!) { chat(id: $id) { id messages { edges { node { role status } } } } }
`;

/** How long `work` took, in milliseconds, with its outcome. */
async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await work();
  return { ms: performance.now() - started, value };
}

/** Waits until the gateway serves the caller's chats again (it heals within a second or so). */
async function servedAgain(gateway: TestGateway, token: string): Promise<void> {
  await eventually(async () => (await gateway.gql(CHATS, {}, token)).errors === undefined, 10_000);
}

/** Small bounds, so a stall is seen in about a second (the defaults are covered below). */
const SHORT: Partial<DatabaseTimeouts> = { connectMs: 500, acquireMs: 500, statementMs: 500, queryMs: 800 };

/** A gateway whose database connections go through a stall proxy. */
async function stallableGateway(timeouts: Partial<DatabaseTimeouts> = {}, env: Record<string, string> = {}) {
  const proxy = await startStallProxy(process.env.DATABASE_URL!);
  const database = await createTestDatabase({ via: proxy.via, timeouts });
  const gateway = await startTestGateway(env, { database });
  return { proxy, database, gateway };
}

describe.skipIf(!onPostgres)("a stalled database (PostgreSQL only: PGlite runs in-process and cannot stall)", () => {
  describe("with the default bounds", () => {
    let proxy: StallProxy;
    let database: TestDatabase;
    let gateway: TestGateway;
    beforeAll(async () => {
      ({ proxy, database, gateway } = await stallableGateway());
    });
    afterAll(async () => {
      proxy?.resume();
      await gateway?.close();
      await database?.drop();
      await proxy?.close();
    });

    test("/ready answers 503 within 3 s while the database stalls, and 200 again once it answers", async () => {
      expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
      proxy.pause();
      const { ms, value: response } = await timed(() => fetch(`${gateway.url}/ready`));
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ ready: false });
      expect(ms).toBeLessThan(3_000);
      proxy.resume();
      await eventually(async () => (await fetch(`${gateway.url}/ready`)).status === 200, 10_000);
    });

    test("queries and new turns are refused with offline:chat within 10 s, and served again without a restart", async () => {
      const token = await gateway.tokenFor(newUser());
      expectOk(await gateway.gql(CHATS, {}, token));
      proxy.pause();

      // A Prisma query, a new user's first request, a new turn (SQL on the driver).
      const query = await timed(() => gateway.gql(CHATS, {}, token));
      expectError(query.value, "offline:chat");
      expect(query.value.errors![0].message).toMatch(/try again/i);
      expect(query.ms).toBeLessThan(10_000);

      const stranger = await timed(async () => gateway.gql(CHATS, {}, await gateway.tokenFor(newUser())));
      expectError(stranger.value, "offline:chat");
      expect(stranger.ms).toBeLessThan(10_000);

      const turn = await timed(() => subscribeWithFetch(gateway.url, sendInput("hello"), { token }));
      expect(turn.value.events).toEqual([]);
      expectError(turn.value.results[0], "offline:chat");
      expect(turn.ms).toBeLessThan(10_000);

      proxy.resume();
      await servedAgain(gateway, token);
      const after = await subscribeWithFetch(gateway.url, sendInput("[plain] hello"), { token });
      expect(after.events.at(-1)?.__typename).toBe("StreamFinished");
    });

    test("a transaction (saveMessages) is refused within 10 s and writes nothing", async () => {
      const token = await gateway.tokenFor(newUser());
      const chatId = randomUUID();
      expectOk(await gateway.gql(`mutation { createChat(input: { id: "${chatId}" }) { id } }`, {}, token));
      proxy.pause();
      const saved = await timed(() =>
        gateway.gql(
          `mutation Save($chatId: ID!, $messages: [MessageInput!]!) { saveMessages(chatId: $chatId, messages: $messages) { id } }`,
          { chatId, messages: [{ id: randomUUID(), role: "USER", parts: [{ type: "text", text: "hi" }] }] },
          token,
        ),
      );
      expectError(saved.value, "offline:chat");
      expect(saved.ms).toBeLessThan(10_000);
      proxy.resume();
      await servedAgain(gateway, token);
      expect(expectOk(await gateway.gql(CHAT, { id: chatId }, token)).chat.messages.edges).toEqual([]);
    });
  });

  describe("with short bounds", () => {
    test("a running turn whose store cannot complete ends with StreamFailed; the user turn stays stored", async () => {
      const { proxy, database, gateway } = await stallableGateway(SHORT, { MOCK_DELTA_DELAY_MS: "10" });
      try {
        const token = await gateway.tokenFor(newUser());
        const variables = sendInput("[long:100] hello");
        const turn = subscribeWithFetch(gateway.url, variables, {
          token,
          onEvent: (event) => {
            if (event.__typename === "TextDelta") proxy.pause();
          },
        });
        const { events } = await turn;
        const terminal = events.at(-1) as StreamEvent;
        expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toEqual([terminal]);
        expect(terminal.__typename).toBe("StreamFailed");
        expect(terminal.code).toMatch(/^(offline:chat|bad_request:database)$/);

        proxy.resume();
        await servedAgain(gateway, token);
        const chat = expectOk(await gateway.gql(CHAT, { id: variables.input.chatId }, token)).chat;
        expect(chat.messages.edges[0].node).toEqual({ role: "USER", status: "COMPLETE" });
      } finally {
        proxy.resume();
        await gateway.close();
        await database.drop();
        await proxy.close();
      }
    });

    test("a stall mid-turn ends the turn within the bounds; once the database answers, every delta seen is stored FAILED", async () => {
      // A stall that outlasts the turn log's retention: the answer is still the owner's to store.
      const { proxy, database, gateway } = await stallableGateway(SHORT, {
        TURN_CHECKPOINT_MS: "300",
        TURN_LOG_RETENTION_SECONDS: "1",
        TURN_LEASE_SECONDS: "3",
      });
      try {
        const token = await gateway.tokenFor(newUser());
        let pausedAt = 0;
        // [slow]: about 10 s of answer.
        const { events } = await subscribeWithFetch(gateway.url, sendInput("[slow] hello"), {
          token,
          signal: AbortSignal.timeout(8_000),
          onEvent: (_event, all) => {
            if (all.filter((e) => e.__typename === "TextDelta").length === 5) {
              proxy.pause();
              pausedAt = performance.now();
            }
          },
        });
        const endedAt = performance.now();
        const terminals = events.filter((e) => TERMINAL_TYPES.includes(e.__typename));
        expect(terminals).toEqual([expect.objectContaining({ __typename: "StreamFailed", code: "offline:chat" })]);
        // The next checkpoint (300 ms) meets the stall and gives up after the query bound (800 ms).
        expect(endedAt - pausedAt).toBeLessThan(3_000);
        const seen = events
          .filter((e) => e.__typename === "TextDelta")
          .map((e) => e.delta)
          .join("");

        // Past the retention (1 s) and a lease (3 s): the database is back only after both.
        await sleep(3_500);
        proxy.resume();
        const started = events[0] as StreamEvent;
        const answer = await eventually(async () => {
          const row = await database.db.prisma.message
            .findUnique({ where: { id: started.assistantMessageId } })
            .catch(() => null);
          return row && row.status !== "streaming" ? row : null;
        }, 15_000);
        expect(answer.status).toBe("failed");
        const text = (answer.parts as { type: string; text?: string }[])
          .filter((p) => p.type === "text")
          .map((p) => p.text)
          .join("");
        expect(text).toBe(seen);
      } finally {
        proxy.resume();
        await gateway.close();
        await database.drop();
        await proxy.close();
      }
    });

    test("the gateway closes (SIGTERM's drain) while the database stalls mid-turn", async () => {
      const { proxy, database, gateway } = await stallableGateway(SHORT);
      try {
        const token = await gateway.tokenFor(newUser());
        const events: StreamEvent[] = [];
        const turn = subscribeWithFetch(gateway.url, sendInput("[hang]"), {
          token,
          onEvent: (event) => events.push(event),
        });
        await eventually(async () => events.length > 0, 10_000);
        proxy.pause();
        // Stops the turn, fails to store it, and closes the pool: each bounded.
        await gateway.close();
        await turn.catch(() => {});
      } finally {
        proxy.resume();
        await database.drop();
        await proxy.close();
      }
    });

    test("db.close() returns while the database stalls, with queries running and connections idle", async () => {
      const proxy = await startStallProxy(process.env.DATABASE_URL!);
      const database = await createTestDatabase({ via: proxy.via, timeouts: SHORT });
      try {
        await Promise.all(Array.from({ length: 4 }, () => insertUser(database.db.prisma)));
        proxy.pause();
        const running = database.db.sql.query("SELECT 1");
        running.catch(() => {});
        await database.db.close();
        await expect(running).rejects.toThrow();
      } finally {
        proxy.resume();
        await database.drop().catch(() => {});
        await proxy.close();
      }
    });
  });
});
