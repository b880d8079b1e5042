import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeGateway, expectOk } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { eventually, sendInput, STOP_STREAM, subscribeWithFetch, TERMINAL_TYPES } from "./support/sse.ts";

// Two instances of one deployment: one database, one Redis. stopStream may
// reach either instance; the turn runs on one of them.
const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("stopStream across instances (REDIS_URL)", () => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    a = await startTestGateway({ REDIS_URL: redisUrl! });
    b = await startTestGateway({ REDIS_URL: redisUrl! }, { database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await closeGateway(a);
  });

  it("a stop sent to another instance stops the turn, stores the partial answer and returns true", async () => {
    const token = await a.tokenFor({ id: "cross-instance-user" });
    const variables = sendInput("[slow] Tell me a long story.");
    let deltas = 0;
    let reached!: () => void;
    const reachedDeltas = new Promise<void>((resolve) => (reached = resolve));
    const turn = subscribeWithFetch(a.url, variables, {
      token,
      onEvent: (event) => {
        if (event.__typename === "TextDelta" && ++deltas === 3) reached();
      },
    });
    await reachedDeltas;

    const stop = expectOk(await b.gql(STOP_STREAM, { chatId: variables.input.chatId }, token));
    expect(stop.stopStream).toBe(true);
    // stopStream returned once the other instance had stored the partial turn.
    const stored = await b.database.db.prisma.message.findMany({
      where: { chatId: variables.input.chatId, role: "assistant" },
    });
    expect(stored).toHaveLength(1);
    expect(stored[0].status).toBe("aborted");

    const { events } = await turn;
    expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
    expect(events.at(-1)).toMatchObject({ __typename: "StreamAborted", partialMessage: { status: "ABORTED" } });
    await eventually(async () => (await a.app.services.turns.stop(variables.input.chatId, "again")) === false);
    expect(expectOk(await b.gql(STOP_STREAM, { chatId: variables.input.chatId }, token)).stopStream).toBe(false);
  });

  it("a turn left active by an instance that is gone: stopStream marks it failed and returns false", async () => {
    const token = await a.tokenFor({ id: "crashed-instance-user" });
    const variables = sendInput("[plain] hello");
    const chatId = variables.input.chatId;
    await subscribeWithFetch(a.url, variables, { token });
    // What a crash mid-turn leaves behind: a Stream row still active, run by no instance.
    const prisma = a.database.db.prisma;
    const [stream] = await prisma.stream.findMany({ where: { chatId } });
    await prisma.stream.update({ where: { id: stream.id }, data: { status: "active" } });

    expect(expectOk(await b.gql(STOP_STREAM, { chatId }, token)).stopStream).toBe(false);
    expect((await prisma.stream.findUniqueOrThrow({ where: { id: stream.id } })).status).toBe("failed");
    expect(expectOk(await a.gql(STOP_STREAM, { chatId }, token)).stopStream).toBe(false);
  });

  it("another user cannot stop the turn from either instance", async () => {
    const token = await a.tokenFor({ id: "owner-user" });
    const intruder = await b.tokenFor({ id: "intruder-user" });
    const variables = sendInput("[plain] hello");
    await subscribeWithFetch(a.url, variables, { token });
    const refused = await b.gql(STOP_STREAM, { chatId: variables.input.chatId }, intruder);
    expect(refused.errors?.[0].extensions?.code).toBe("forbidden:chat");
  });
});
