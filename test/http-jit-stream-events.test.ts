// useJitStreamEvents on a small Yoga of its own: a document's second
// subscription runs compiled, and its events, refusals and failures reach
// the client exactly as the first's did, through Yoga's masking (first run)
// or the plugin's own (compiled runs).
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { GraphQLResolveInfo } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";
import { beforeAll, expect, it } from "vitest";
import { useApolloMultipartSubscriptions } from "../src/http/apollo-multipart.ts";
import { useJitStreamEvents } from "../src/http/jit-stream-events.ts";
import { setLogLevel } from "../src/log.ts";
import { subscriptionCaseFields, subscriptionCases } from "./support/subscription-cases.ts";

const compiled: string[] = [];
/** What the root resolver's `info` said of where it runs, as graphql-js would say it. */
const tickParents = new Set<string>();
const yoga = createYoga({
  logging: false,
  maskedErrors: { isDev: false },
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean }
      type Tick { n: Int!, label(prefix: String): String, required: Int! }
      type Subscription { ${subscriptionCaseFields}, ticks(to: Int!, scale: Int = 1): Tick }
    `,
    resolvers: {
      Subscription: {
        ...subscriptionCases,
        ticks: {
          subscribe: async function* (_: unknown, { to }: { to: number }) {
            for (let n = 1; n <= to; n++) yield { n };
          },
          // The root field's own resolver, with its arguments, runs for each event.
          resolve: (event: { n: number }, { scale }: { scale: number }, _ctx: unknown, info: GraphQLResolveInfo) => {
            tickParents.add(`${info.parentType.name} ${info.operation.operation}`);
            return { n: event.n * scale };
          },
        },
      },
      Tick: { label: (tick: { n: number }, { prefix }: { prefix?: string }) => `${prefix ?? "#"}${tick.n}` },
    },
  }),
  plugins: [
    useApolloMultipartSubscriptions({ heartbeatMs: 1000 }),
    useJitStreamEvents({ onCompiled: (name) => compiled.push(name) }),
  ],
});

let url: string;
beforeAll(async () => {
  setLogLevel("silent");
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return () => new Promise<void>((resolve) => server.close(() => resolve()));
});

/** The `data:` payloads of an SSE response, parsed. */
async function sse(query: string, variables?: Record<string, unknown>): Promise<{ text: string; results: unknown[] }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ query, variables, operationName: query.split(" ")[1].split("(")[0] }),
  });
  const text = await response.text().catch(() => "");
  const results = [...text.matchAll(/^data: (.+)$/gm)].map((match) => JSON.parse(match[1]));
  return { text, results };
}

/** The payloads of an Apollo multipart response, which reports a failed stream itself. */
async function multipart(query: string): Promise<string> {
  const response = await fetch(url, {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/json;q=0.9",
    },
    body: JSON.stringify({ query, operationName: query.split(" ")[1] }),
  });
  return response.text();
}

it("a document's second subscription runs compiled, with the same events", async () => {
  const query = "subscription Count { count(to: 3) }";
  const first = await sse(query);
  expect(compiled).not.toContain("Count");
  const second = await sse(query);
  expect(compiled).toContain("Count");
  expect(second.results).toEqual([{ data: { count: 1 } }, { data: { count: 2 } }, { data: { count: 3 } }]);
  expect(second.results).toEqual(first.results);
});

it("the root field's arguments, an alias, fragments and variables in the selection: the same events compiled", async () => {
  const query = /* GraphQL */ `subscription Ticks($to: Int!, $scale: Int, $prefix: String, $withLabel: Boolean!) {
    t: ticks(to: $to, scale: $scale) { n ...Label @include(if: $withLabel) }
  }
  fragment Label on Tick { label(prefix: $prefix) }`;
  const runs = [];
  for (const variables of [
    { to: 2, scale: 10, prefix: "tick ", withLabel: true },
    { to: 2, scale: 3, prefix: null, withLabel: true },
    { to: 1, withLabel: false },
  ]) {
    runs.push((await sse(query, variables)).results);
  }
  expect(compiled).toContain("Ticks");
  expect(runs).toEqual([
    [{ data: { t: { n: 10, label: "tick 10" } } }, { data: { t: { n: 20, label: "tick 20" } } }],
    [{ data: { t: { n: 3, label: "#3" } } }, { data: { t: { n: 6, label: "#6" } } }],
    [{ data: { t: { n: 1 } } }],
  ]);
  expect([...tickParents]).toEqual(["Subscription subscription"]);
});

it("a null in a non-null field of an event is masked, compiled or not", async () => {
  const query = "subscription Required { ticks(to: 1) { n required } }";
  const runs = [await sse(query), await sse(query)];
  expect(compiled).toContain("Required");
  for (const { results } of runs) {
    expect(results).toEqual([
      {
        data: { ticks: null },
        errors: [expect.objectContaining({ message: "Unexpected error.", path: ["ticks", "required"] })],
      },
    ]);
  }
});

it("an event whose field fails carries the masked error, compiled or not", async () => {
  const query = "subscription Broken { brokenEvent }";
  const runs = [await sse(query), await sse(query)];
  expect(compiled).toContain("Broken");
  for (const { text, results } of runs) {
    expect(results).toEqual([
      { data: { brokenEvent: null }, errors: [expect.objectContaining({ message: "Unexpected error." })] },
    ]);
    expect(text).not.toContain("secret");
  }
});

it("a refusal before the first event keeps its message and code, compiled or not", async () => {
  const query = "subscription Refused { refused }";
  const runs = [await sse(query), await sse(query)];
  expect(compiled).toContain("Refused");
  for (const { results } of runs) {
    expect(results).toEqual([
      { errors: [expect.objectContaining({ message: "Not yours.", extensions: { code: "forbidden:chat" } })] },
    ]);
  }
});

it("a stream that throws ends with a masked error, compiled or not", async () => {
  const query = "subscription Fail { failAfterOne }";
  const runs = [await multipart(query), await multipart(query)];
  expect(compiled).toContain("Fail");
  for (const text of runs) {
    expect(text).toContain('{"payload":{"data":{"failAfterOne":1}}}');
    expect(text).toContain('"message":"Unexpected error."');
    expect(text).not.toMatch(/secret|srv/);
  }
});
