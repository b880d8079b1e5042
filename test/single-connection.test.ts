// graphql-sse's single-connection mode on /graphql/stream, with graphql-sse's
// own client: turns, a second turn on the same connection, what /graphql
// refuses refused the same way, the protocol's own refusals, and one instance
// without REDIS_URL refusing a stream another instance reserved.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway, useTestGateway } from "./support/gateway.ts";
import {
  openStream,
  payloadOf,
  postOperation,
  comparable,
  reserveStream,
  singleConnectionClient,
  type SingleConnectionRun,
} from "./support/single-connection.ts";
import { eventually, SEND_MESSAGE, sendInput, subscribeWithClient, type StreamEvent } from "./support/sse.ts";

failOnUnhandledRejections();

const gateway = useTestGateway({ MOCK_DELTA_DELAY_MS: "5" }, { resetEachTest: false });

const TOO_MANY_ALIASES = `query { ${Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(" ")} }`;

describe("single-connection mode (graphql-sse's client, singleConnection: true)", () => {
  it("runs two turns on one connection (one PUT, one GET), with the events distinct mode gives", async () => {
    const token = await gateway.tokenFor({ id: "single-user" });
    const single = singleConnectionClient([gateway.url], { token, lazy: false });
    let first: SingleConnectionRun;
    let second: SingleConnectionRun;
    try {
      first = await single.turn(sendInput("[plain] hello"));
      second = await single.turn(sendInput("[plain] hello"));
    } finally {
      single.client.dispose();
    }
    const distinct = await subscribeWithClient(gateway.url, sendInput("[plain] hello"), { token });

    for (const run of [first, second]) {
      expect(run.error).toBeUndefined();
      expect(run.events.at(-1)).toMatchObject({ __typename: "StreamFinished", message: { status: "COMPLETE" } });
      expect(run.events.map(comparable)).toEqual(distinct.events.map(comparable));
    }
    expect(single.requests.map((r) => `${r.method} ${r.status}`)).toEqual([
      "PUT 201",
      "GET 200",
      "POST 202",
      "POST 202",
    ]);
    const stored = await gateway.database.db.prisma.message.findMany({
      where: { chatId: second.events[0].chatId, role: "assistant" },
    });
    expect(stored).toHaveLength(1);
  });

  it("refuses what /graphql refuses, with the same results: no token, armour's limits", async () => {
    const token = await gateway.tokenFor({ id: "refused-user" });
    const anonymous = singleConnectionClient([gateway.url]);
    const signedOut = await anonymous.turn(sendInput("[plain] hello"));
    const signedOutDistinct = await subscribeWithClient(gateway.url, sendInput("[plain] hello"));
    expect(signedOut.results[0].errors?.[0].extensions?.code).toBe("unauthorized:chat");
    expect(signedOut.results).toEqual(signedOutDistinct.results);

    const single = singleConnectionClient([gateway.url], { token });
    const armour = await single.run(TOO_MANY_ALIASES);
    const armourDistinct = await subscribeWithClient(gateway.url, {}, { token, query: TOO_MANY_ALIASES });
    expect(armour.results[0].errors?.[0]).toMatchObject({
      message: expect.stringContaining("Aliases limit"),
      extensions: { code: "bad_request:api" },
    });
    expect(armour.results).toEqual(armourDistinct.results);
    expect(armour.events).toEqual([]);
  });

  it("stopping a subscription (DELETE) leaves its turn running to the end, stored", async () => {
    const token = await gateway.tokenFor({ id: "stopping-user" });
    const single = singleConnectionClient([gateway.url], { token });
    const variables = sendInput("[long:300] Tell me a long story.");
    const events: StreamEvent[] = [];
    const iterator = single.client.iterate({ query: SEND_MESSAGE, variables });
    for await (const result of iterator) {
      events.push((result.data as { sendMessage: StreamEvent }).sendMessage);
      if (events.length === 3) break;
    }
    await eventually(async () => single.requests.some((r) => r.method === "DELETE" && r.status === 200));
    const prisma = gateway.database.db.prisma;
    const stored = await eventually(
      async () =>
        (await prisma.message.findMany({ where: { chatId: variables.input.chatId, role: "assistant" } })).find(
          (message) => message.status === "complete",
        ),
      30_000,
    );
    expect(stored.id).toBe(events[0].assistantMessageId);
    single.client.dispose();
  });

  it("a DELETE of an operation ends it on the stream with `complete`, as graphql-sse's own server does", async () => {
    const token = await gateway.tokenFor({ id: "delete-complete-user" });
    const streamToken = await reserveStream(gateway.url, token);
    const stream = await openStream(gateway.url, streamToken, token);
    try {
      const variables = sendInput("[slow] Tell me a long story.");
      const posted = await postOperation(
        gateway.url,
        streamToken,
        { query: SEND_MESSAGE, variables, operationId: "op1" },
        token,
      );
      expect(posted.status).toBe(202);
      await stream.waitFor((frame) => frame.event === "next" && JSON.parse(frame.data).id === "op1");
      const deleted = await fetch(`${gateway.url}/graphql/stream?operationId=op1`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${token}`, "x-graphql-event-stream-token": streamToken },
      });
      expect(deleted.status).toBe(200);
      await stream.waitFor((frame) => frame.event === "complete" && JSON.parse(frame.data).id === "op1");
      expect(stream.frames.filter((frame) => frame.event === "complete")).toHaveLength(1);
    } finally {
      stream.close();
    }
  });

  it("answers the protocol's mistakes with a status and a message", async () => {
    const token = await gateway.tokenFor({ id: "protocol-user" });
    const other = await gateway.tokenFor({ id: "protocol-other-user" });
    const url = `${gateway.url}/graphql/stream`;
    const errorOf = async (response: Response) => ({
      status: response.status,
      ...((await response.json()) as { errors: { message: string; extensions: { code: string } }[] }).errors[0],
    });

    expect(await errorOf(await fetch(url, { headers: { accept: "text/event-stream" } }))).toMatchObject({
      status: 400,
      message: expect.stringContaining("x-graphql-event-stream-token"),
    });
    const forged = await fetch(url, { headers: { "x-graphql-event-stream-token": "not-a-token" } });
    expect(await errorOf(forged)).toMatchObject({ status: 401, extensions: { code: "bad_request:api" } });

    const streamToken = await reserveStream(gateway.url, token);
    expect((await openStream(gateway.url, streamToken, other)).status).toBe(403);
    const stream = await openStream(gateway.url, streamToken, token);
    expect(stream.status).toBe(200);
    try {
      expect((await openStream(gateway.url, streamToken, token)).status).toBe(409);
      const noId = await postOperation(gateway.url, streamToken, { query: "{ me { id } }", operationId: "" }, token);
      expect(await errorOf(noId)).toMatchObject({ status: 400, message: expect.stringContaining("operationId") });
      const form = await fetch(url, {
        method: "POST",
        headers: {
          authorization: `Bearer ${token}`,
          "x-graphql-event-stream-token": streamToken,
          "content-type": "application/x-www-form-urlencoded",
        },
        body: "query=%7B%20me%20%7B%20id%20%7D%20%7D",
      });
      expect(form.status).toBe(415);
      const huge = await postOperation(
        gateway.url,
        streamToken,
        { query: `{ me { id } } #${"x".repeat(gateway.env.MAX_REQUEST_BYTES)}`, operationId: "huge" },
        token,
      );
      expect(huge.status).toBe(413);

      const accepted = await postOperation(
        gateway.url,
        streamToken,
        { query: "{ me { id } }", operationId: "q1" },
        token,
      );
      expect(accepted.status).toBe(202);
      const result = await stream.waitFor((frame) => payloadOf(frame, "q1") !== null);
      expect(payloadOf(result, "q1")).toEqual({ data: { me: { id: "protocol-user" } } });
      await stream.waitFor((frame) => frame.event === "complete" && frame.data.includes('"q1"'));
    } finally {
      stream.close();
    }
    // Once its GET is gone, the stream is closed for good.
    await eventually(async () => {
      const late = await postOperation(gateway.url, streamToken, { query: "{ me { id } }", operationId: "q2" }, token);
      return late.status === 404;
    });
  });
});

describe("more than one instance without REDIS_URL", () => {
  let other: TestGateway;
  beforeAll(async () => {
    other = await startTestGateway({}, { database: gateway.database });
  });
  afterAll(() => other?.close());

  it("refuses a stream reserved on another instance, saying REDIS_URL is needed", async () => {
    const token = await gateway.tokenFor({ id: "two-instance-user" });
    const streamToken = await reserveStream(gateway.url, token);
    const elsewhere = await openStream(other.url, streamToken, token);
    expect(elsewhere.status).toBe(404);
    const response = await postOperation(
      other.url,
      streamToken,
      { query: "{ me { id } }", operationId: randomUUID() },
      token,
    );
    expect(response.status).toBe(404);
    const { errors } = (await response.json()) as { errors: { message: string }[] };
    expect(errors[0].message).toContain("needs REDIS_URL");

    const alternating = singleConnectionClient([gateway.url, other.url], { token });
    const run = await alternating.run("{ me { id } }");
    expect(run.error).toBeDefined();
    expect(alternating.requests.map((r) => `${r.method} ${r.status}`)).toEqual(["PUT 201", "GET 404"]);
  });
});

describe("persisted operations only (PERSISTED_OPERATIONS_ONLY=true)", () => {
  let persistedOnly: TestGateway;
  beforeAll(async () => {
    persistedOnly = await startTestGateway({ PERSISTED_OPERATIONS_ONLY: "true" }, { database: gateway.database });
  });
  afterAll(() => persistedOnly?.close());

  it("refuses query text on /graphql/stream as on /graphql", async () => {
    const token = await gateway.tokenFor({ id: "persisted-user" });
    const single = singleConnectionClient([persistedOnly.url], { token });
    const text = await single.run("{ me { id } }");
    const distinct = await subscribeWithClient(persistedOnly.url, {}, { token, query: "{ me { id } }" });
    single.client.dispose();
    expect(text.results[0].errors?.[0]).toMatchObject({
      message: expect.stringContaining("persisted operations only"),
      extensions: { code: "bad_request:api" },
    });
    expect(text.results).toEqual(distinct.results);
  });
});

describe("introspection off (INTROSPECTION=false)", () => {
  let closed: TestGateway;
  beforeAll(async () => {
    closed = await startTestGateway({ INTROSPECTION: "false" }, { database: gateway.database });
  });
  afterAll(() => closed?.close());

  it("refuses introspection on /graphql/stream as on /graphql", async () => {
    const token = await gateway.tokenFor({ id: "introspecting-user" });
    const query = "{ __schema { queryType { name } } }";
    const single = singleConnectionClient([closed.url], { token });
    const introspection = await single.run(query);
    single.client.dispose();
    const distinct = await subscribeWithClient(closed.url, {}, { token, query });
    expect(introspection.results[0].errors?.[0].message).toMatch(/introspection/i);
    expect(introspection.results).toEqual(distinct.results);
  });
});
