// A database that stops taking a running turn's statements loses nothing the
// client saw: the turn ends with StreamFailed offline:chat at its next
// checkpoint (or at its store), and once the database takes statements again
// the answer is stored FAILED with every delta streamed. Runs on PGlite and on
// PostgreSQL (with Redis when REDIS_URL is set): the turn's statements (SQL on
// the driver) go through a switch that refuses them as a closed port does.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { metricsRegistry } from "../src/metrics.ts";
import { closeGateway, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, slowTextTurn } from "./support/fake-streamer.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { eventually, sendInput, subscribeWithFetch, TERMINAL_TYPES, streamedText } from "./support/sse.ts";
import { useFakeStreamer } from "./support/file-hooks.ts";
import { switchable } from "./support/turn-rows.ts";

failOnUnhandledRejections();

const TEXT = "Every word the client saw is kept. ".repeat(40);
// A delta every 20 ms: about 5 s of answer.
const slow = respond(slowTextTurn(TEXT, 20));

const fake = useFakeStreamer(slow);
let database: TestDatabase;
let link: ReturnType<typeof switchable>;
const gateways: TestGateway[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  link = switchable(database.db);
});
afterAll(async () => {
  link.state.down = false;
  for (const gateway of gateways) await closeGateway(gateway);
  await database?.drop();
});
beforeEach(() => {
  link.state.down = false;
});

async function gatewayWith(env: Record<string, string>): Promise<TestGateway> {
  const gateway = await startTestGateway(
    {
      STREAMER_URL: fake.url,
      // A short lease: its sweep runs often, and must leave the owner's kept answer alone.
      TURN_LEASE_SECONDS: "1",
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      ...env,
    },
    { database: { ...database, db: link.db } },
  );
  gateways.push(gateway);
  return gateway;
}

/** A turn whose database goes down once the client holds `deltas` deltas; read for at most `boundMs`. */
async function turnLosingItsDatabase(gateway: TestGateway, deltas: number, boundMs: number) {
  const variables = sendInput("Tell me a long story.");
  const token = await gateway.tokenFor(newUser());
  let downAt = 0;
  const result = await subscribeWithFetch(gateway.url, variables, {
    token,
    signal: AbortSignal.timeout(boundMs),
    onEvent: (event, all) => {
      if (event.__typename === "TextDelta" && all.filter((e) => e.__typename === "TextDelta").length === deltas) {
        link.state.down = true;
        downAt = performance.now();
      }
    },
  });
  return { result, downAt, endedAt: performance.now(), started: result.events[0]! };
}

/** Waits until the turn's answer is stored (no longer STREAMING); returns it. */
async function storedAnswer(messageId: string, timeoutMs: number) {
  const prisma = database.db.prisma;
  return eventually(async () => {
    const row = await prisma.message.findUnique({ where: { id: messageId } });
    return row && row.status !== "streaming" ? row : null;
  }, timeoutMs);
}

/** The chat_gateway_unsaved_answers gauge (this process's registry: the gateway runs in it). */
async function unsavedAnswers(): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric("chat_gateway_unsaved_answers")?.get();
  return metric?.values[0]?.value ?? 0;
}

const partsText = (parts: unknown) =>
  (parts as { type: string; text?: string }[])
    .filter((p) => p.type === "text")
    .map((p) => p.text)
    .join("");

describe("the database stops answering mid-turn", () => {
  it("the turn ends at its next checkpoint with StreamFailed offline:chat; once back, every delta is stored FAILED", async () => {
    const gateway = await gatewayWith({ TURN_CHECKPOINT_MS: "300" });
    const { result, downAt, endedAt, started } = await turnLosingItsDatabase(gateway, 10, 8_000);
    const terminals = result.events.filter((e) => TERMINAL_TYPES.includes(e.__typename));
    expect(terminals).toHaveLength(1);
    expect(terminals[0]).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", partialMessage: null });
    // The next checkpoint (300 ms) finds the database refusing: far sooner than the answer's 5 s.
    expect(endedAt - downAt).toBeLessThan(2_000);
    const seen = streamedText(result.events);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.length).toBeLessThan(TEXT.length);

    // Nothing could be stored while the database was down; the sweep (1 s lease) took nothing.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const meanwhile = await database.db.prisma.message.findUniqueOrThrow({ where: { id: started.assistantMessageId } });
    expect(meanwhile.status).toBe("streaming");
    expect(await unsavedAnswers()).toBe(1);

    link.state.down = false;
    const answer = await storedAnswer(started.assistantMessageId, 10_000);
    expect(answer.status).toBe("failed");
    expect(partsText(answer.parts)).toBe(seen);
    expect(await unsavedAnswers()).toBe(0);
    const stream = await database.db.prisma.stream.findUniqueOrThrow({ where: { id: started.streamId } });
    expect(stream.status).toBe("failed");
  }, 30_000);

  it("a turn that streams to its end but cannot be stored tells its client at once and stores every delta FAILED later", async () => {
    // No checkpoints: the final store is the first to meet the refusing database.
    const gateway = await gatewayWith({ TURN_CHECKPOINT_MS: "0" });
    const { result, started } = await turnLosingItsDatabase(gateway, 10, 15_000);
    const terminals = result.events.filter((e) => TERMINAL_TYPES.includes(e.__typename));
    expect(terminals).toHaveLength(1);
    expect(terminals[0]).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", partialMessage: null });
    const seen = streamedText(result.events);
    expect(seen).toBe(TEXT);

    await new Promise((resolve) => setTimeout(resolve, 1_500));
    link.state.down = false;
    const answer = await storedAnswer(started.assistantMessageId, 10_000);
    expect(answer.status).toBe("failed");
    expect(partsText(answer.parts)).toBe(seen);
  }, 30_000);
});

describe.skipIf(!process.env.REDIS_URL)("the instance holding an unsaved answer goes away (Redis)", () => {
  it("another instance stores it FAILED from the Redis log, every delta the client saw", async () => {
    const owner = await gatewayWith({ TURN_CHECKPOINT_MS: "300" });
    const { result, started } = await turnLosingItsDatabase(owner, 10, 8_000);
    expect(result.events.at(-1)).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    const seen = streamedText(result.events);
    // Its shutdown tries the store once more (refused still) and leaves the answer to the sweep.
    await owner.close();
    gateways.splice(gateways.indexOf(owner), 1);

    const survivor = await startTestGateway(
      { STREAMER_URL: fake.url, TURN_LEASE_SECONDS: "1", REDIS_URL: process.env.REDIS_URL! },
      { database },
    );
    gateways.push(survivor);
    const answer = await storedAnswer(started.assistantMessageId, 15_000);
    expect(answer.status).toBe("failed");
    expect(partsText(answer.parts)).toBe(seen);
  }, 40_000);
});
