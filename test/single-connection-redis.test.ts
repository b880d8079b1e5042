// Single-connection mode behind a round-robin balancer, no sticky sessions:
// two instances of one deployment (one database, one Redis), and a fetch that
// sends each request to the other instance. The PUT, the GET and each POST
// land on different instances; the events must still reach the GET.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gauge } from "prom-client";
import { metricsRegistry } from "../src/metrics.ts";
import { closeGateway, expectOk, failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import {
  comparable,
  openStream,
  payloadOf,
  postOperation,
  reserveStream,
  singleConnectionClient,
  streamIdOf,
} from "./support/single-connection.ts";
import {
  eventually,
  RESUME_STREAM,
  SEND_MESSAGE,
  STOP_STREAM,
  sendInput,
  subscribeWithClient,
  subscribeWithFetch,
  type StreamEvent,
} from "./support/sse.ts";

const redisUrl = process.env.REDIS_URL;
const onPostgres = Boolean(process.env.DATABASE_URL);

describe.skipIf(!redisUrl)("single-connection mode across instances (REDIS_URL)", () => {
  failOnUnhandledRejections();
  let a: TestGateway;
  let b: TestGateway;
  let redis: Redis;
  beforeAll(async () => {
    a = await startTestGateway({ REDIS_URL: redisUrl!, MOCK_DELTA_DELAY_MS: "5" });
    b = await startTestGateway({ REDIS_URL: redisUrl!, MOCK_DELTA_DELAY_MS: "5" }, { database: a.database });
    redis = new Redis(redisUrl!);
  });
  afterAll(async () => {
    redis?.disconnect();
    await b?.close();
    await closeGateway(a);
  });

  it("runs two turns on one connection whose requests alternate between the instances", async () => {
    const token = await a.tokenFor({ id: "balanced-user" });
    const single = singleConnectionClient([a.url, b.url], { token, lazy: false });
    const runs = await (async () => {
      try {
        const first = await single.turn(sendInput("[plain] hello"));
        const second = await single.turn(sendInput("[plain] hello"));
        const query = await single.run("{ me { id } }");
        return { first, second, query };
      } finally {
        single.client.dispose();
      }
    })();
    const distinct = await subscribeWithClient(b.url, sendInput("[plain] hello"), { token });

    expect(single.requests.map((r) => `${r.method} ${new URL(r.url).origin} ${r.status}`)).toEqual([
      `PUT ${a.url} 201`,
      `GET ${b.url} 200`,
      `POST ${a.url} 202`,
      `POST ${b.url} 202`,
      `POST ${a.url} 202`,
    ]);
    for (const run of [runs.first, runs.second]) {
      expect(run.error).toBeUndefined();
      expect(run.events.map(comparable)).toEqual(distinct.events.map(comparable));
    }
    expect(runs.query.results).toEqual([{ data: { me: { id: "balanced-user" } } }]);
  });

  it("refusals from the instance that ran the operation reach the stream held by the other", async () => {
    const single = singleConnectionClient([a.url, b.url]);
    const refused = await single.turn(sendInput("[plain] hello"));
    single.client.dispose();
    expect(refused.results[0].errors?.[0].extensions?.code).toBe("unauthorized:chat");
    expect(single.requests.map((r) => r.status)).toEqual([201, 200, 202]);
  });

  it("a DELETE on another instance stops the operation; the turn runs on, stored", async () => {
    const token = await a.tokenFor({ id: "balanced-stop-user" });
    const streamToken = await reserveStream(a.url, token);
    const stream = await openStream(b.url, streamToken, token);
    const variables = sendInput("[long:400] Tell me a long story.");
    try {
      expect(
        (await postOperation(a.url, streamToken, { query: SEND_MESSAGE, variables, operationId: "t1" }, token)).status,
      ).toBe(202);
      await stream.waitFor((frame) => payloadOf(frame, "t1")?.data?.sendMessage?.__typename === "TextDelta");
      const stop = await fetch(`${b.url}/graphql/stream?operationId=t1`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${token}`, "x-graphql-event-stream-token": streamToken },
      });
      expect(stop.status).toBe(200);
      const prisma = a.database.db.prisma;
      await eventually(
        async () =>
          (await prisma.message.findMany({ where: { chatId: variables.input.chatId, role: "assistant" } })).some(
            (message) => message.status === "complete",
          ),
        30_000,
      );
      const events = stream.frames.flatMap((frame) => {
        const event = payloadOf(frame, "t1")?.data?.sendMessage as StreamEvent | undefined;
        return event ? [event] : [];
      });
      expect(events.length).toBeGreaterThan(0);
      expect(events.map((event) => event.__typename)).not.toContain("StreamFinished");
    } finally {
      stream.close();
    }
  });

  it("closing the GET on one instance stops the operations running on the other", async () => {
    const token = await a.tokenFor({ id: "balanced-close-user" });
    const variables = sendInput("[long:5000] Tell me a long story.");
    const chatId = variables.input.chatId;
    let started!: () => void;
    const turnStarted = new Promise<void>((resolve) => (started = resolve));
    const turn = subscribeWithFetch(a.url, variables, { token, onEvent: () => started() });
    await turnStarted;

    // The stream is held on A; the resumeStream it runs is on B.
    const streamToken = await reserveStream(b.url, token);
    const stream = await openStream(a.url, streamToken, token);
    const resume = { query: RESUME_STREAM, variables: { chatId, afterSeq: null }, operationId: "r1" };
    expect((await postOperation(b.url, streamToken, resume, token)).status).toBe(202);
    await stream.waitFor((frame) => payloadOf(frame, "r1") !== null);
    await eventually(async () => (await resumers()) === 1);
    stream.close();

    await eventually(async () => (await resumers()) === 0, 5_000);
    const { streamStatus } = await chatStatus(chatId, token);
    expect(streamStatus).toBe("STREAMING");
    // Frames still in flight when it closed did not bring the stream back.
    expect(await redis.exists(`chat-gateway:sse:{${streamIdOf(streamToken)}}:events`)).toBe(0);
    const late = await postOperation(a.url, streamToken, { query: "{ me { id } }", operationId: "r2" }, token);
    expect(late.status).toBe(404);

    expect(expectOk(await b.gql(STOP_STREAM, { chatId }, token)).stopStream).toBe(true);
    expect((await turn).events.at(-1)?.__typename).toBe("StreamAborted");
  });

  /** resumeStream subscriptions reading in this process (both instances run in it). */
  async function resumers(): Promise<number> {
    const gauge = metricsRegistry.getSingleMetric("chat_gateway_resumers") as Gauge;
    return (await gauge.get()).values[0]?.value ?? 0;
  }

  async function chatStatus(chatId: string, token: string) {
    const result = expectOk(
      await a.gql(
        "query ($id: ID!) { chat(id: $id) { messages { edges { node { status } } } } }",
        { id: chatId },
        token,
      ),
    );
    const statuses = result.chat.messages.edges.map((edge: { node: { status: string } }) => edge.node.status);
    return { streamStatus: statuses.at(-1) as string };
  }
});

// The same with the second instance a process of its own (PostgreSQL: PGlite
// cannot be shared between processes): nothing in one process's memory helps.
describe.skipIf(!redisUrl || !onPostgres)("single-connection mode across gateway processes (Redis, PostgreSQL)", () => {
  let a: TestGateway;
  let b: GatewayProcess | undefined;
  beforeAll(async () => {
    a = await startTestGateway({ REDIS_URL: redisUrl!, MOCK_DELTA_DELAY_MS: "5" });
    b = await startGatewayProcess({
      env: { DATABASE_URL: a.database.url!, REDIS_URL: redisUrl!, MOCK_DELTA_DELAY_MS: "5" },
    });
  }, 120_000);
  afterAll(async () => {
    await b?.dispose();
    await closeGateway(a);
  });

  it("runs two turns on one connection whose requests alternate between the processes", async () => {
    const token = await a.tokenFor({ id: "process-balanced-user" });
    const single = singleConnectionClient([b!.url, a.url], { token, lazy: false });
    try {
      const first = await single.turn(sendInput("[plain] hello"));
      const second = await single.turn(sendInput("[plain] hello"));
      for (const run of [first, second]) {
        expect(run.error).toBeUndefined();
        expect(run.events.at(-1)).toMatchObject({ __typename: "StreamFinished", message: { status: "COMPLETE" } });
      }
    } finally {
      single.client.dispose();
    }
    expect(single.requests.map((r) => `${r.method} ${new URL(r.url).origin} ${r.status}`)).toEqual([
      `PUT ${b!.url} 201`,
      `GET ${a.url} 200`,
      `POST ${b!.url} 202`,
      `POST ${a.url} 202`,
    ]);
    expect(b!.entries().filter((entry) => entry.level === "error")).toEqual([]);
  });
});
