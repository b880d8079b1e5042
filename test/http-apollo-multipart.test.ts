// useApolloMultipartSubscriptions on a small Yoga of its own: the exact wire
// format of Apollo's multipart subscription protocol, heartbeats, a stream
// that fails, a client that goes away; read by Apollo Client's own parser
// (HttpLink) where the client's view is what counts.
import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createSchema, createYoga } from "graphql-yoga";
import { beforeAll, describe, expect, it } from "vitest";
import { useApolloMultipartSubscriptions } from "../src/http/apollo-multipart.ts";
import { setLogLevel } from "../src/log.ts";
import { eventually } from "./support/sse.ts";

const APOLLO_ACCEPT =
  "multipart/mixed;boundary=graphql;subscriptionSpec=1.0,application/graphql-response+json,application/json;q=0.9";

const HEARTBEAT_PART = "\r\ncontent-type: application/json\r\n\r\n{}\r\n---";

let gate: { open: () => void; opened: Promise<void> };
const newGate = () => {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  gate = { open, opened };
};
let finallyRan = 0;

const yoga = createYoga({
  logging: false,
  maskedErrors: { isDev: false },
  schema: createSchema({
    typeDefs: /* GraphQL */ `
      type Query { ok: Boolean }
      type Subscription { count(to: Int!): Int, waitThenOne: Int, failAfterOne: Int, ticks: Int }
    `,
    resolvers: {
      Subscription: {
        count: {
          subscribe: async function* (_: unknown, { to }: { to: number }) {
            for (let i = 1; i <= to; i++) yield { count: i };
          },
        },
        waitThenOne: {
          subscribe: async function* () {
            try {
              await gate.opened;
              yield { waitThenOne: 1 };
            } finally {
              finallyRan++;
            }
          },
        },
        ticks: {
          subscribe: async function* () {
            try {
              for (let i = 0; ; i++) {
                await new Promise((resolve) => setTimeout(resolve, 5));
                yield { ticks: i };
              }
            } finally {
              finallyRan++;
            }
          },
        },
        failAfterOne: {
          subscribe: async function* () {
            yield { failAfterOne: 1 };
            throw new Error("secret detail at /srv/app.ts:12");
          },
        },
      },
    },
  }),
  plugins: [useApolloMultipartSubscriptions({ heartbeatMs: 20 })],
});

let url: string;
const post = (query: string, accept = APOLLO_ACCEPT) =>
  fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", accept },
    body: JSON.stringify({ query }),
  });

/** Apollo Client over the Yoga's fetch; `onBody` sees the raw body text as it arrives. */
function apollo(onBody?: (text: string) => void) {
  const fetch = async (input: RequestInfo | URL, init?: RequestInit) => {
    const response: Response = await globalThis.fetch(input, init);
    if (!onBody || !response.body) return response;
    const [forApollo, forUs] = response.body.tee();
    void (async () => {
      const reader = forUs.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      for (let read = await reader.read(); !read.done; read = await reader.read()) onBody((text += read.value));
    })();
    return new Response(forApollo, response);
  };
  return new ApolloClient({ link: new HttpLink({ uri: url, fetch }), cache: new InMemoryCache() });
}

function collect(client: ApolloClient, query: string) {
  const seen: { data: unknown[]; error?: any } = { data: [] };
  return new Promise<typeof seen>((resolve) => {
    client.subscribe({ query: gql(query), fetchPolicy: "no-cache" }).subscribe({
      next: (result) => {
        if (result.error) seen.error = result.error;
        else seen.data.push(result.data);
      },
      error: (error) => resolve({ ...seen, error }),
      complete: () => resolve(seen),
    });
  });
}

beforeAll(async () => {
  setLogLevel("silent");
  const server = createServer(yoga);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
  return () => {
    server.closeAllConnections();
    server.close();
  };
});

describe("Apollo's multipart subscription protocol", () => {
  it("is the exact wire format Apollo's parser reads: boundary -, JSON parts of {payload}, closed with -----", async () => {
    const response = await post("subscription { count(to: 2) }");
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe('multipart/mixed;boundary="-";subscriptionSpec="1.0"');
    const part = (json: string) => `\r\ncontent-type: application/json\r\n\r\n${json}\r\n---`;
    expect(await response.text()).toBe(
      `\r\n---${part('{"payload":{"data":{"count":1}}}')}${part('{"payload":{"data":{"count":2}}}')}--\r\n`,
    );
  });

  it("Apollo Client gets every event and completes", async () => {
    const seen = await collect(apollo(), "subscription { count(to: 3) }");
    expect(seen.error).toBeUndefined();
    expect(seen.data).toEqual([{ count: 1 }, { count: 2 }, { count: 3 }]);
  });

  it("sends {} heartbeats while the stream is quiet, which Apollo Client skips", async () => {
    newGate();
    const response = await post("subscription { waitThenOne }");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    await eventually(async () => {
      text += decoder.decode((await reader.read()).value, { stream: true });
      return text.split(HEARTBEAT_PART).length > 2;
    });
    gate.open();
    await reader.cancel();

    newGate();
    let heartbeats = 0;
    const client = apollo((body) => {
      heartbeats = body.split(HEARTBEAT_PART).length - 1;
      if (heartbeats >= 2) gate.open();
    });
    expect(await collect(client, "subscription { waitThenOne }")).toEqual({ data: [{ waitThenOne: 1 }] });
    expect(heartbeats).toBeGreaterThanOrEqual(2);
  });

  it("a stream that fails ends with its masked error, which Apollo Client raises, and the closing boundary", async () => {
    const seen = await collect(apollo(), "subscription { failAfterOne }");
    expect(seen.data).toEqual([{ failAfterOne: 1 }]);
    expect(seen.error?.errors?.map((e: any) => [e.message, e.extensions?.code])).toEqual([
      ["Unexpected error.", "INTERNAL_SERVER_ERROR"],
    ]);
    const text = await (await post("subscription { failAfterOne }")).text();
    expect(text).not.toMatch(/secret|srv/);
    expect(text.endsWith("\r\n-----\r\n")).toBe(true);
  });

  it("a client that goes away ends the subscription (its finally runs)", async () => {
    const before = finallyRan;
    const response = await post("subscription { ticks }");
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    while (!text.includes('"ticks":2')) text += decoder.decode((await reader.read()).value, { stream: true });
    await reader.cancel();
    await eventually(async () => finallyRan > before);
  });

  it("without subscriptionSpec, multipart/mixed alone is still refused (406)", async () => {
    const response = await post("subscription { count(to: 1) }", "multipart/mixed");
    expect(response.status).toBe(406);
  });
});
