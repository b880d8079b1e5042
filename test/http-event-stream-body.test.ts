// useEventStreamBody against Yoga's own SSE processor: the same bytes for
// every kind of stream (compiled or not, failing, refused), the source ended
// when the client goes away, and a client that does not read holds the source back.
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { createSchema, createYoga, type Plugin } from "graphql-yoga";
import { afterAll, beforeAll, expect, it } from "vitest";
import { useEventStreamBody } from "../src/http/event-stream-body.ts";
import { useJitStreamEvents } from "../src/http/jit-stream-events.ts";
import { setLogLevel } from "../src/log.ts";
import { subscriptionCaseFields, subscriptionCases } from "./support/subscription-cases.ts";

const ended: string[] = [];
const served: boolean[] = [];
let pulled = 0;

function schema() {
  return createSchema({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean }
      type Subscription {
        ${subscriptionCaseFields}
        endless(tag: String!): String
        quiet: Int
        givenUp: Int
      }
    `,
    resolvers: {
      Subscription: {
        ...subscriptionCases,
        givenUp: {
          subscribe: async function* () {
            yield { givenUp: 1 };
            throw new DOMException("The operation was aborted.", "AbortError");
          },
        },
        quiet: {
          subscribe: async function* () {
            await new Promise((resolve) => setTimeout(resolve, 700));
            yield { quiet: 1 };
          },
        },
        endless: {
          subscribe: async function* (_: unknown, { tag }: { tag: string }) {
            try {
              for (;;) {
                pulled++;
                yield { endless: "x".repeat(1024) };
                await new Promise((resolve) => setImmediate(resolve));
              }
            } finally {
              ended.push(tag);
            }
          },
        },
      },
    },
  });
}

async function serve(plugins: Plugin[]) {
  const yoga = createYoga({ logging: false, maskedErrors: { isDev: false }, schema: schema(), plugins });
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql` };
}

let yogaOwn: Awaited<ReturnType<typeof serve>>;
let ours: Awaited<ReturnType<typeof serve>>;
beforeAll(async () => {
  setLogLevel("silent");
  yogaOwn = await serve([useJitStreamEvents()]);
  ours = await serve([useEventStreamBody({ onServe: (unmapped) => served.push(unmapped) }), useJitStreamEvents()]);
});
afterAll(() => {
  for (const { server } of [yogaOwn, ours]) server.close();
});

async function sse(url: string, query: string) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ query, operationName: query.split(" ")[1] }),
  });
  const headers = Object.fromEntries(
    ["content-type", "cache-control", "connection", "content-encoding"].map((name) => [
      name,
      response.headers.get(name),
    ]),
  );
  return { status: response.status, headers, text: await response.text() };
}

it.each([
  ["a stream of events", "subscription Count { count(to: 3) }"],
  ["an event whose field fails", "subscription Broken { brokenEvent }"],
  ["a refusal before the first event", "subscription Refused { refused }"],
  ["a stream that throws", "subscription Fail { failAfterOne }"],
])("%s: the same response as Yoga's own, compiled or not", async (_name, query) => {
  // The first run of a document is uncompiled, the second compiled (jit-stream-events.ts).
  for (let run = 0; run < 2; run++) {
    served.length = 0;
    const [expected, actual] = [await sse(yogaOwn.url, query), await sse(ours.url, query)];
    // Refusals are single results: Yoga's processor writes them.
    expect(served).toEqual(query.includes("Refused") ? [] : [run === 1]);
    expect(actual).toEqual(expected);
    expect(actual.text).toMatch(/^:\n\n(event: next\ndata: .+\n\n)+event: complete\ndata:\n\n$/);
    expect(actual.text).not.toMatch(/secret|srv/);
  }
});

it("a quiet stream gets keep-alive comments, as from Yoga's own (every 300 ms under test)", async () => {
  for (let run = 0; run < 2; run++) {
    for (const url of [yogaOwn.url, ours.url]) {
      const { text } = await sse(url, "subscription Quiet { quiet }");
      expect(text).toMatch(/^(:\n\n){2,}event: next\ndata: \{"data":\{"quiet":1\}\}\n\nevent: complete\ndata:\n\n$/);
    }
  }
});

it("a stream given up on (an abort) ends its body without complete, and the server goes on", async () => {
  // The first run is uncompiled: Yoga's masking answers the abort with an error event.
  const first = await sse(ours.url, "subscription GivenUp { givenUp }");
  expect(first.text).toContain('data: {"data":{"givenUp":1}}');
  const { status, text } = await sse(ours.url, "subscription GivenUp { givenUp }");
  expect(status).toBe(200);
  expect(text).toMatch(/^(:\n\n)+event: next\ndata: \{"data":\{"givenUp":1\}\}\n\n$/);
  expect((await sse(ours.url, "subscription Count { count(to: 1) }")).text).toContain("event: complete");
});

it("a client that goes away ends the subscription", async () => {
  for (let run = 0; run < 2; run++) {
    const controller = new AbortController();
    const response = await fetch(ours.url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream" },
      body: JSON.stringify({ query: `subscription Endless { endless(tag: "gone-${run}") }` }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    controller.abort();
    await expect.poll(() => ended, { timeout: 5_000 }).toContain(`gone-${run}`);
  }
});

it("a client that does not read holds the stream back", async () => {
  const { port } = new URL(ours.url);
  const body = JSON.stringify({ query: 'subscription Endless { endless(tag: "stalled") }' });
  pulled = 0;
  const request = httpRequest({
    host: "127.0.0.1",
    port,
    path: "/graphql",
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
  });
  const responded = new Promise<import("node:http").IncomingMessage>((resolve) => request.on("response", resolve));
  request.end(body);
  const response = await responded;
  response.pause();
  // The socket's buffers and the stream's own fill, then the source is no longer pulled.
  let seen = -1;
  const deadline = Date.now() + 10_000;
  while (pulled !== seen) {
    expect(Date.now(), "the source was pulled on and on").toBeLessThan(deadline);
    seen = pulled;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  expect(seen).toBeGreaterThan(0);
  request.destroy();
  await expect.poll(() => ended, { timeout: 5_000 }).toContain("stalled");
});
