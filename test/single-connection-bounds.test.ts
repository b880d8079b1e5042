// Single-connection mode's plugin on a small schema made to fail, served by
// Yoga as the gateway mounts it. A subscription that throws, on its own or in
// its `finally` when stopped, must end as an error result on the stream, never
// as a crash (with @graphql-yoga/plugin-graphql-sse it was an unhandled
// rejection). And the bounds: a reservation nobody opens expires, a stream
// runs a bounded number of operations, a chunked body is held to its size.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createSchema, createYoga } from "graphql-yoga";
import { afterAll, beforeAll, expect, it } from "vitest";
import { MemoryEventStreams } from "../src/http/single-connection/memory-event-streams.ts";
import { createStreamTokens } from "../src/http/single-connection/stream-token.ts";
import { useSingleConnection } from "../src/http/single-connection/use-single-connection.ts";
import { failOnUnhandledRejections } from "./support/fixtures.ts";
import { eventually } from "./support/sse.ts";
import { openStream, postOperation, reserveStream, singleConnectionClient } from "./support/single-connection.ts";

failOnUnhandledRejections();

let stoppedWithThrow = 0;
let waitsAborted = 0;
const schema = createSchema({
  typeDefs: /* GraphQL */ `
    type Query { ok: Boolean }
    type Subscription { failing: Int, failingOnStop: Int, forever: Int, waiting: Int }
  `,
  resolvers: {
    Query: { ok: () => true },
    Subscription: {
      waiting: {
        async *subscribe(_: unknown, __: unknown, context: { request: Request }) {
          yield { waiting: 0 };
          // What the gateway's turns do: every wait ends when the request's signal fires.
          await new Promise((resolve) => context.request.signal.addEventListener("abort", resolve));
          waitsAborted++;
        },
      },
      forever: {
        async *subscribe() {
          for (let i = 0; ; i++) {
            yield { forever: i };
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        },
      },
      failing: {
        async *subscribe() {
          yield { failing: 1 };
          throw new Error("secret: the database password");
        },
      },
      failingOnStop: {
        async *subscribe() {
          try {
            for (let i = 0; ; i++) {
              yield { failingOnStop: i };
              await new Promise((resolve) => setTimeout(resolve, 10));
            }
          } finally {
            stoppedWithThrow++;
            // biome-ignore lint/correctness/noUnsafeFinally: the failure under test
            throw new Error("secret: thrown while stopping");
          }
        },
      },
    },
  },
});

const servers: Server[] = [];
let url: string;

/** The plugin as the gateway mounts it, over `streams`, with short bounds. */
async function serve(streams: MemoryEventStreams): Promise<string> {
  const yoga = createYoga({
    schema,
    logging: false,
    plugins: [
      useSingleConnection({
        streams,
        tokens: createStreamTokens("a-secret-of-at-least-thirty-two-characters"),
        resolveCaller: async () => ({ user: null, authError: null }),
        maxRequestBytes: 10_000,
        reservationMs: 1_000,
        maxOperations: 2,
        execute: (request, serverContext): Promise<Response> | Response => yoga.fetch(request, serverContext),
      }),
    ],
  });
  const server = createServer(yoga);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  url = await serve(new MemoryEventStreams());
});
afterAll(async () => {
  for (const server of servers) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

it("a throw inside a subscription ends it with a masked error result and complete", async () => {
  const single = singleConnectionClient([url]);
  const run = await single.run("subscription { failing }");
  single.client.dispose();
  expect(run.error).toBeUndefined();
  expect(run.results).toEqual([
    { data: { failing: 1 } },
    { errors: [expect.objectContaining({ message: "Unexpected error." })] },
  ]);
  expect(JSON.stringify(run.results)).not.toContain("secret");
});

it("a throw while a stopped subscription cleans up is caught; the server goes on serving", async () => {
  const single = singleConnectionClient([url], { lazy: false });
  let seen = 0;
  for await (const _ of single.client.iterate({ query: "subscription { failingOnStop }" })) {
    if (++seen === 2) break;
  }
  await eventually(async () => stoppedWithThrow === 1);
  const after = await single.run("{ ok }");
  single.client.dispose();
  expect(after.results).toEqual([{ data: { ok: true } }]);
  expect(single.requests.map((r) => `${r.method} ${r.status}`)).toEqual([
    "PUT 201",
    "GET 200",
    "POST 202",
    "DELETE 200",
    "POST 202",
  ]);
});

it("a reservation nobody opens expires: its POSTs and its GET are refused", async () => {
  const streamToken = await reserveStream(url);
  // POSTs before the GET are allowed while the reservation lasts (their results wait for it).
  expect((await postOperation(url, streamToken, { query: "{ ok }", operationId: "early" })).status).toBe(202);
  let n = 0;
  await eventually(
    async () => (await postOperation(url, streamToken, { query: "{ ok }", operationId: `o${n++}` })).status === 404,
    5_000,
  );
  expect((await openStream(url, streamToken)).status).toBe(404);
});

it("without Redis, refuses a PUT past the instance's bound on streams (503, Retry-After) until one ends", async () => {
  const bounded = await serve(new MemoryEventStreams({ maxStreams: 2 }));
  const put = () => fetch(`${bounded}/graphql/stream`, { method: "PUT" });
  const held = await reserveStream(bounded);
  const stream = await openStream(bounded, held);
  try {
    await reserveStream(bounded);
    const refused = await put();
    expect(refused.status).toBe(503);
    expect(refused.headers.get("retry-after")).toBe("1");
    const { errors } = (await refused.json()) as { errors: { message: string; extensions: object }[] };
    expect(errors[0]).toMatchObject({
      message: expect.stringContaining("try again"),
      extensions: { code: "offline:chat", retryable: true, retryAfterSeconds: 1 },
    });
    // The reservation nobody opens lapses; the open stream still counts.
    await eventually(async () => (await put()).status === 201, 5_000);
    expect((await put()).status).toBe(503);
  } finally {
    stream.close();
  }
  await eventually(async () => (await put()).status === 201, 5_000);
});

it("without Redis, refuses a caller's PUT past its share of streams (429, Retry-After), not another caller's", async () => {
  const streams = new MemoryEventStreams({ maxStreams: 10, maxStreamsPerCaller: 2 });
  const bounded = await serve(streams);
  // Without a token, the caller is its address: every PUT here comes from 127.0.0.1.
  await reserveStream(bounded);
  await reserveStream(bounded);
  const refused = await fetch(`${bounded}/graphql/stream`, { method: "PUT" });
  expect(refused.status).toBe(429);
  expect(refused.headers.get("retry-after")).toBe("1");
  const { errors } = (await refused.json()) as { errors: { message: string; extensions: object }[] };
  expect(errors[0]).toMatchObject({
    message: expect.stringContaining("as many event streams as one caller may"),
    extensions: { code: "rate_limit:chat", retryable: true, retryAfterSeconds: 1 },
  });
  // Another caller still gets its own.
  expect(await streams.reserve("another-stream", Date.now() + 1_000, "user:someone-else")).toBe("reserved");
  // The reservations nobody opens lapse, and give the caller its share back.
  await eventually(async () => (await fetch(`${bounded}/graphql/stream`, { method: "PUT" })).status === 201, 5_000);
});

it("refuses operations past the stream's bound (429) and a duplicate operationId (409)", async () => {
  const streamToken = await reserveStream(url);
  const stream = await openStream(url, streamToken);
  try {
    const post = (operationId: string) =>
      postOperation(url, streamToken, { query: "subscription { forever }", operationId });
    expect((await post("s1")).status).toBe(202);
    expect((await post("s1")).status).toBe(409);
    expect((await post("s2")).status).toBe(202);
    const third = await post("s3");
    expect(third.status).toBe(429);
    expect(((await third.json()) as { errors: { message: string }[] }).errors[0].message).toContain("At most 2");
  } finally {
    stream.close();
  }
});

it("holds a chunked body (no Content-Length) to the size limit", async () => {
  const streamToken = await reserveStream(url);
  const stream = await openStream(url, streamToken);
  try {
    const text = JSON.stringify({ query: `{ ok } #${"x".repeat(20_000)}`, extensions: { operationId: "big" } });
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(text));
        controller.close();
      },
    });
    const response = await fetch(`${url}/graphql/stream`, {
      method: "POST",
      headers: { "x-graphql-event-stream-token": streamToken, "content-type": "application/json" },
      body,
      duplex: "half",
    } as RequestInit);
    expect(response.status).toBe(413);
  } finally {
    stream.close();
  }
});

it("stopping an operation fires its request's signal, as a disconnect does on /graphql", async () => {
  const single = singleConnectionClient([url]);
  for await (const _ of single.client.iterate({ query: "subscription { waiting }" })) break;
  await eventually(async () => waitsAborted === 1);
  single.client.dispose();
  expect(single.requests.map((r) => r.method)).toContain("DELETE");
});

it("closing the event stream stops its operations", async () => {
  const before = waitsAborted;
  const streamToken = await reserveStream(url);
  const stream = await openStream(url, streamToken);
  expect((await postOperation(url, streamToken, { query: "subscription { waiting }", operationId: "w" })).status).toBe(
    202,
  );
  await stream.waitFor((frame) => frame.event === "next");
  stream.close();
  await eventually(async () => waitsAborted === before + 1);
  expect((await postOperation(url, streamToken, { query: "{ ok }", operationId: "late" })).status).toBe(404);
});

it("a stream token claiming a reservation far ahead is not one this deployment minted: refused", async () => {
  const tokens = createStreamTokens("a-secret-of-at-least-thirty-two-characters");
  const usual = await tokens.mint("someone", 30_000);
  expect(await tokens.verify(usual.token)).toEqual(usual.claims);
  // Minted with the key (as anyone who knew it could): a reservation of ten years would keep its frames as long.
  const far = await tokens.mint("someone", 10 * 365 * 24 * 3600 * 1000);
  expect(await tokens.verify(far.token)).toBeNull();
});
