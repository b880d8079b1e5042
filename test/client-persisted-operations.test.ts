// PERSISTED_OPERATIONS_ONLY=true: the gateway runs only the documents codegen
// wrote to client/generated/persisted-documents.json, sent by hash; the typed
// client does that with `persisted: true`, subscriptions over SSE included.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, test } from "vitest";
import {
  createGatewayClient,
  CreateGuestSessionDocument,
  GatewayError,
  MeDocument,
  newId,
  persistedHashOf,
  sendMessage,
  sendMessageInput,
  type GatewayClient,
} from "../client/index.ts";
import { parseEnv } from "../src/config/env.ts";
import { useTestGateway } from "./support/gateway.ts";
import { subscribeWithFetch } from "./support/sse.ts";

const persistedDocuments = JSON.parse(
  readFileSync(new URL("../client/generated/persisted-documents.json", import.meta.url), "utf8"),
) as Record<string, string>;

const gateway = useTestGateway({ PERSISTED_OPERATIONS_ONLY: "true" }, { resetEachTest: false });
let client: GatewayClient;
let token: string;

beforeAll(async () => {
  client = createGatewayClient({ url: `${gateway.url}/graphql`, persisted: true, token: () => token });
  token = (await client.request(CreateGuestSessionDocument)).createGuestSession.token;
});

function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}`, ...headers },
    body: JSON.stringify(body),
  }).then(async (r) => ({
    status: r.status,
    body: (await r.json()) as { data?: any; errors?: { message: string; extensions?: { code?: string } }[] },
  }));
}

test("PERSISTED_OPERATIONS_ONLY parses as a boolean, off by default", () => {
  expect(parseEnv({}).PERSISTED_OPERATIONS_ONLY).toBe(false);
  expect(parseEnv({ PERSISTED_OPERATIONS_ONLY: "true" }).PERSISTED_OPERATIONS_ONLY).toBe(true);
  expect(parseEnv({ PERSISTED_OPERATIONS_ONLY: "1" }).PERSISTED_OPERATIONS_ONLY).toBe(true);
  expect(parseEnv({ PERSISTED_OPERATIONS_ONLY: "false" }).PERSISTED_OPERATIONS_ONLY).toBe(false);
  expect(() => parseEnv({ PERSISTED_OPERATIONS_ONLY: "yes please" })).toThrow(/PERSISTED_OPERATIONS_ONLY/);
});

test("every generated document carries the hash it is persisted under", () => {
  const hash = persistedHashOf(MeDocument)!;
  expect(hash).toMatch(/^sha256:[0-9a-f]{64}$/);
  expect(persistedDocuments[hash]).toContain("query Me");
});

describe("the typed client with persisted: true", () => {
  test("queries and mutations run by hash", async () => {
    const { me } = await client.request(MeDocument);
    expect(me).toMatchObject({ type: "GUEST", messagesLeftToday: 20 });
  });

  test("sendMessage streams over SSE by hash, and the turn is stored", async () => {
    const final = await sendMessage(client, sendMessageInput(newId(), "[plain] Persisted")).done;
    expect(final.status).toBe("finished");
    expect(JSON.stringify(final.message?.parts)).toContain('You said: \\"[plain] Persisted\\"');
  });

  test("a client that sends query text is refused with bad_request:api", async () => {
    const textClient = createGatewayClient({ url: `${gateway.url}/graphql`, token });
    const error = (await textClient.request(MeDocument).catch((e: unknown) => e)) as GatewayError;
    expect(error).toBeInstanceOf(GatewayError);
    expect(error.code).toBe("bad_request:api");
    expect(error.message).toMatch(/persisted operations only/);
    const turn = await sendMessage(textClient, sendMessageInput(newId(), "not persisted")).done;
    expect(turn.status).toBe("failed");
    expect(turn.error?.code).toBe("bad_request:api");
  });
});

describe("the wire format", () => {
  const meHash = () => persistedHashOf(MeDocument)!;

  test("extensions.persistedQuery.sha256Hash, with or without the sha256: prefix, and documentId", async () => {
    for (const sha256Hash of [meHash(), meHash().slice("sha256:".length)]) {
      const result = await post({ operationName: "Me", extensions: { persistedQuery: { version: 1, sha256Hash } } });
      expect(result.body.data?.me.type).toBe("GUEST");
    }
    const byId = await post({ operationName: "Me", documentId: meHash() });
    expect(byId.body.data?.me.type).toBe("GUEST");
  });

  test("query text, an unknown hash, or neither is refused; nothing runs", async () => {
    const refusals = [
      await post({ query: "{ me { id } }" }),
      await post({
        query: persistedDocuments[meHash()],
        extensions: { persistedQuery: { version: 1, sha256Hash: meHash() } },
      }),
      await post({ extensions: { persistedQuery: { version: 1, sha256Hash: `sha256:${"0".repeat(64)}` } } }),
      await post({ operationName: "Me" }),
    ];
    for (const { body } of refusals) {
      expect(body.data ?? null).toBeNull();
      expect(body.errors?.[0]?.extensions?.code).toBe("bad_request:api");
    }
    const get = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent("{ me { id } }")}`, {
      headers: { accept: "application/json", authorization: `Bearer ${token}` },
    });
    expect(((await get.json()) as { data?: unknown }).data ?? null).toBeNull();
  });

  test("an ad-hoc subscription over SSE is refused before anything runs", async () => {
    const result = await subscribeWithFetch(gateway.url, sendMessageInputVariables(), { token });
    expect(result.events).toEqual([]);
    expect(result.results[0]?.errors?.[0]?.extensions?.code).toBe("bad_request:api");
    expect(result.completed).toBe(true);
  });

  test("no single-connection endpoint bypasses the mode (/graphql/stream is not served)", async () => {
    // graphql-sse's /graphql/stream answers before
    // Yoga's request plugins, so it would skip this check if it were served.
    const response = await fetch(`${gateway.url}/graphql/stream`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", authorization: `Bearer ${token}` },
      body: JSON.stringify({ query: "{ me { id } }" }),
    });
    const text = await response.text();
    expect(text).not.toContain('"data"');
  });
});

function sendMessageInputVariables() {
  return { input: sendMessageInput(newId(), "ad hoc") };
}
