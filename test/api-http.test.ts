import { gzipSync } from "node:zlib";
import { request as httpRequest } from "node:http";
import { describe, expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { useTestGateway } from "./support/gateway.ts";
import { sendInput } from "./support/sse.ts";
import { keepAliveResponseHeaders } from "./support/http.ts";
import { expectError, expectNoInternals, expectOk, insertChat, insertMessage, insertUser } from "./support/fixtures.ts";

const gateway = useTestGateway();

const prisma = () => gateway.database.db.prisma;

async function signedIn() {
  const user = await insertUser(prisma());
  return { id: user.id, token: await gateway.tokenFor({ id: user.id }) };
}

/** POSTs a raw body to /graphql; returns status and parsed JSON (or text). */
async function post(body: string, token?: string) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body,
  });
  const text = await response.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, json, text };
}

/** POSTs with chunked transfer encoding (no content-length header). */
function postChunked(chunks: string[], token: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${gateway.url}/graphql`);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "transfer-encoding": "chunked",
          authorization: `Bearer ${token}`,
        },
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d) => (text += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    // The server may answer (and close) before the whole body is sent.
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "ECONNRESET" || error.code === "EPIPE") resolve({ status: 413, text: "" });
      else reject(error);
    });
    for (const chunk of chunks) req.write(chunk);
    req.end();
  });
}

describe("health and readiness", () => {
  test("GET /health is 200", async () => {
    const response = await fetch(`${gateway.url}/health`);
    expect(response.status).toBe(200);
    await response.arrayBuffer();
  });

  test("idle connections stay open 65 s, longer than a load balancer's 60 s idle timeout", async () => {
    const headers = await keepAliveResponseHeaders(`${gateway.url}/health`);
    expect(headers.connection).toBe("keep-alive");
    expect(headers["keep-alive"]).toBe("timeout=65");
  });

  test("KEEP_ALIVE_TIMEOUT_MS above 290 s is refused at start-up (Node's 300 s request timeout would cut the header timeout)", () => {
    expect(() => parseEnv({ KEEP_ALIVE_TIMEOUT_MS: "300000" })).toThrow(/KEEP_ALIVE_TIMEOUT_MS/);
    expect(parseEnv({ KEEP_ALIVE_TIMEOUT_MS: "120000" }).KEEP_ALIVE_TIMEOUT_MS).toBe(120_000);
  });

  test("GET /ready is 200 with { ready: true } once migrations are applied", async () => {
    const response = await fetch(`${gateway.url}/ready`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ready: true });
  });

  test("only the exact paths /health and /ready answer; other paths merely ending so are 404", async () => {
    const status = async (path: string) => {
      const response = await fetch(`${gateway.url}${path}`);
      await response.arrayBuffer();
      return response.status;
    };
    expect(await status("/ready?probe=1")).toBe(200);
    expect(await status("/health?probe=1")).toBe(200);
    for (const path of ["/foo/ready", "/graphql/ready", "/foo/health", "/x/y/health"]) {
      expect(await status(path), path).toBe(404);
    }
    // A GraphQL request whose URL ends in one is answered by /graphql, not as a probe.
    for (const probe of ["/ready", "/health"]) {
      const query = encodeURIComponent("{ __typename }");
      const response = await fetch(`${gateway.url}/graphql?query=${query}&x=${probe}`, {
        headers: { "x-graphql-yoga-csrf": "1" },
      });
      expect(await response.json(), probe).toEqual({ data: { __typename: "Query" } });
    }
  });

  test("GET /ready is 503 when a migration is missing", async () => {
    const rows = await prisma().$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM "_prisma_migrations" LIMIT 1`);
    await prisma().$executeRawUnsafe(`UPDATE "_prisma_migrations" SET finished_at = NULL WHERE id = '${rows[0].id}'`);
    try {
      const response = await fetch(`${gateway.url}/ready`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ ready: false });
    } finally {
      await prisma().$executeRawUnsafe(
        `UPDATE "_prisma_migrations" SET finished_at = now() WHERE id = '${rows[0].id}'`,
      );
    }
  });
});

describe("request size", () => {
  // A valid operation padded to `bytes` through the request's `extensions` (ignored by the server).
  const padded = (bytes: number) => {
    const head = JSON.stringify({ query: "{ me { id } }", extensions: { pad: "" } });
    return head.replace(`"pad":""`, `"pad":"${"x".repeat(bytes - head.length)}"`);
  };

  test("a body just under MAX_REQUEST_BYTES is served", async () => {
    const me = await signedIn();
    const body = padded(gateway.env.MAX_REQUEST_BYTES - 100);
    const { status, json } = await post(body, me.token);
    expect(status).toBe(200);
    expect(json.data.me.id).toBe(me.id);
  });

  test("a body over MAX_REQUEST_BYTES is 413", async () => {
    const me = await signedIn();
    const { status, json } = await post(padded(gateway.env.MAX_REQUEST_BYTES + 1000), me.token);
    expect(status).toBe(413);
    if (json) expect(json.data ?? null).toBeNull();
  });

  test("a chunked body (no content-length) over MAX_REQUEST_BYTES is 413 too", async () => {
    const me = await signedIn();
    const body = padded(gateway.env.MAX_REQUEST_BYTES * 2);
    const chunks: string[] = [];
    for (let i = 0; i < body.length; i += 64 * 1024) chunks.push(body.slice(i, i + 64 * 1024));
    const { status, text } = await postChunked(chunks, me.token);
    expect(status, text.slice(0, 200)).toBe(413);
    expect(text).not.toContain(me.id);
  });
});

describe("Content-Encoding on a request body", () => {
  test("gzip or br is 415 with Accept-Encoding: identity and runs nothing; identity is fine", async () => {
    const me = await signedIn();
    const body = JSON.stringify({ query: "mutation { createChat(input: {}) { id } }" });
    const send = (encoding: string, payload: string | Blob) =>
      fetch(`${gateway.url}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-encoding": encoding,
          authorization: `Bearer ${me.token}`,
        },
        body: payload,
      });
    for (const [encoding, payload] of [
      ["gzip", new Blob([new Uint8Array(gzipSync(body))])],
      ["br", body],
    ] as const) {
      const refused = await send(encoding, payload);
      expect(refused.status).toBe(415);
      expect(refused.headers.get("accept-encoding")).toBe("identity");
      const { errors } = (await refused.json()) as { errors: { message: string; extensions: { code: string } }[] };
      expect(errors[0].extensions.code).toBe("bad_request:api");
      expect(errors[0].message).toContain(`content-encoding "${encoding}"`);
    }
    expect(await prisma().chat.count({ where: { userId: me.id } })).toBe(0);
    const plain = await send("identity", body);
    expect(plain.status).toBe(200);
    expect(await prisma().chat.count({ where: { userId: me.id } })).toBe(1);
  });
});

describe("query abuse (graphql-armor)", () => {
  test("20 aliases are refused; a handful are fine", async () => {
    const me = await signedIn();
    const many = Array.from({ length: 20 }, (_, i) => `a${i}: me { id }`).join(" ");
    const refused = await gateway.gql(`{ ${many} }`, {}, me.token);
    expect(refused.errors?.length).toBeGreaterThan(0);
    // Not a syntax error (graphql-armor's own wording): the document parsed.
    expect(refused.errors![0].message).toBe("Aliases limit of 15 exceeded, found 20.");
    expect(refused.errors![0].extensions?.code).toBe("bad_request:api");
    expect(refused.data ?? null).toBeNull();
    const few = Array.from({ length: 3 }, (_, i) => `a${i}: me { id }`).join(" ");
    expect(Object.keys(expectOk(await gateway.gql(`{ ${few} }`, {}, me.token)))).toHaveLength(3);
  });

  test("__typename aliases count toward the limit: each would repeat its name in every result", async () => {
    const me = await signedIn();
    const many = Array.from({ length: 20 }, (_, i) => `t${i}${"x".repeat(100)}: __typename`).join(" ");
    const refused = await gateway.gql(`{ ${many} me { id } }`, {}, me.token);
    expect(refused.errors?.[0].message).toBe("Aliases limit of 15 exceeded, found 20.");
    expect(refused.errors![0].extensions?.code).toBe("bad_request:api");
  });

  test("a query nested deeper than the limit is refused", async () => {
    const me = await signedIn();
    let nested = "id";
    for (let i = 0; i < 20; i++) nested = `... on User { ${nested} }`;
    const deep = await gateway.gql(`{ me { ${nested} } }`, {}, me.token);
    // Refused by the depth limit, or by the cost limit that such nesting also exceeds.
    expect(deep.errors?.[0].message).toMatch(/depth|cost/i);
    expect(deep.data ?? null).toBeNull();

    let ofType = "name";
    for (let i = 0; i < 15; i++) ofType = `ofType { ${ofType} }`;
    const introspection = await gateway.gql(`{ __type(name: "Chat") { ${ofType} } }`, {}, me.token);
    expect(introspection.errors?.[0].message).toMatch(/depth|cost/i);
    expect(introspection.data ?? null).toBeNull();
  });

  test("a query over the cost limit is refused as such, not as a syntax error", async () => {
    const me = await signedIn();
    const query = "{ chats(first: 100) { edges { node { id messages(first: 100) { edges { node { id } } } } } } }";
    const result = await gateway.gql(query, {}, me.token);
    expect(result.errors?.[0].message).toMatch(/^Query Cost limit of 100000 exceeded, found \d/);
    expect(result.errors?.[0].extensions?.code).toBe("bad_request:api");
    expect(result.data ?? null).toBeNull();
  });

  test("a query with too many tokens is refused", async () => {
    const me = await signedIn();
    const fields = Array.from({ length: 2500 }, () => "id").join(" ");
    const result = await gateway.gql(`{ me { ${fields} } }`, {}, me.token);
    expect(result.errors?.[0].message).toMatch(/token/i);
    expect(result.errors?.[0].extensions?.code).toBe("bad_request:api");
    expect(result.data ?? null).toBeNull();
  });

  test("a document graphql-js gives up validating (hundreds of one field) is refused saying why", async () => {
    const me = await signedIn();
    const result = await gateway.gql(`{ ${"__typename ".repeat(800)}}`, {}, me.token);
    expect(result.errors?.[0].message).toBe(
      "The document is too complex to validate (repeated fields or fragment spreads); send a smaller one.",
    );
    expect(result.errors?.[0].extensions?.code).toBe("bad_request:api");
    expect(result.data ?? null).toBeNull();
  });

  test("syntax and validation errors carry bad_request:api", async () => {
    const me = await signedIn();
    const syntax = await gateway.gql(`{ me { id `, {}, me.token);
    expect(syntax.errors?.[0].extensions?.code).toBe("bad_request:api");
    const unknownField = await gateway.gql(`{ me { nope } }`, {}, me.token);
    expect(unknownField.errors?.[0].message).toMatch(/nope/);
    expect(unknownField.errors?.[0].extensions?.code).toBe("bad_request:api");
  });

  test("an ordinary page of messages with every part type is not refused", async () => {
    const me = await signedIn();
    const chat = await insertChat(prisma(), { userId: me.id });
    await insertMessage(prisma(), { chatId: chat.id, userId: me.id, text: "hello" });
    const PARTS = `parts { __typename ... on TextPart { text } ... on ReasoningPart { reasoning: text }
      ... on ToolPart { toolCallId toolName state input output errorText } ... on FilePart { mediaType url filename }
      ... on SourceUrlPart { sourceId sourceUrl: url title } ... on SourceDocumentPart { documentId: sourceId title }
      ... on DataPart { name dataId: id data } ... on StepStartPart { stepStart } }`;
    // The page size written into the query, as clients commonly do: the default size (20).
    const query = `query($id: ID!) { chat(id: $id) { id title messages(first: 20) {
      edges { node { id role status createdAt ${PARTS} } } pageInfo { hasNextPage endCursor } } } }`;
    const data = expectOk(await gateway.gql(query, { id: chat.id }, me.token));
    expect(data.chat.messages.edges[0].node.parts).toEqual([{ __typename: "TextPart", text: "hello" }]);
  });
});

describe("errors", () => {
  test("a database failure is bad_request:database, with no SQL or stack in the response", async () => {
    const me = await signedIn();
    const chat = await insertChat(prisma(), { userId: me.id });
    const message = await insertMessage(prisma(), { chatId: chat.id, userId: me.id, role: "assistant" });
    await gateway.database.db.exec(`ALTER TABLE "Vote" RENAME TO "Vote_broken"`);
    try {
      const result = await gateway.gql(
        `mutation($c: ID!, $m: ID!) { voteMessage(chatId: $c, messageId: $m, up: true) }`,
        { c: chat.id, m: message.id },
        me.token,
      );
      expectError(result, "bad_request:database");
      expectNoInternals(result);
      expect(JSON.stringify(result)).not.toContain("Vote_broken");
      expect(JSON.stringify(result)).not.toContain('"Vote"');
    } finally {
      await gateway.database.db.exec(`ALTER TABLE "Vote_broken" RENAME TO "Vote"`);
    }
  });

  test("an unexpected failure is masked: no stack, no SQL, no driver message", async () => {
    const user = await insertUser(prisma());
    const token = await gateway.tokenFor({ id: `fresh-${user.id}` });
    await gateway.database.db.exec(`ALTER TABLE "User" RENAME TO "User_broken"`);
    try {
      const { status, json, text } = await post(JSON.stringify({ query: "{ me { id } }" }), token);
      expect(status).toBeGreaterThanOrEqual(200);
      expect(json?.errors?.length, text).toBeGreaterThan(0);
      expect(json.data ?? null).toBeNull();
      expectNoInternals(json);
      expect(text).not.toContain("User_broken");
      expect(text).not.toMatch(/does not exist/i);
    } finally {
      await gateway.database.db.exec(`ALTER TABLE "User_broken" RENAME TO "User"`);
    }
  });

  test("malformed bodies are bad_request:api with no parser internals, and nothing runs", async () => {
    const me = await signedIn();
    for (const body of ["{bad", "", "[1,", '{"query": "{ me { id } }"', '{"query": "\u0000', "\u00ff\u00fe"]) {
      const { status, json, text } = await post(body, me.token);
      expect(status, text).toBe(400);
      expect(json?.errors?.[0]?.extensions?.code, text).toBe("bad_request:api");
      expect(json.data ?? null).toBeNull();
      expect(text).not.toMatch(/originalError|SyntaxError|stack|position \d|is not valid JSON/);
      expectNoInternals(json);
    }
  });

  test("with NODE_ENV=development in the process, an unexpected failure still carries no original error", async () => {
    const services = gateway.app.services;
    const resolveCaller = services.resolveCaller;
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = "development";
    services.resolveCaller = async () => {
      throw new Error("internal detail at /srv/gateway/secret.ts:12");
    };
    try {
      const { json, text } = await post(JSON.stringify({ query: "{ me { id } }" }));
      expect(json?.errors?.[0]?.message, text).toBe("Unexpected error.");
      expect(text).not.toMatch(/originalError|stack|internal detail|secret/);
    } finally {
      process.env.NODE_ENV = nodeEnv;
      services.resolveCaller = resolveCaller;
    }
  });

  test("refusals carry extensions.code and no stack trace", async () => {
    const me = await signedIn();
    const result = await gateway.gql(`mutation { createChat(input: { id: "not-a-uuid" }) { id } }`, {}, me.token);
    expectError(result, "bad_request:api");
    expectNoInternals(result);
    expect(JSON.stringify(result)).not.toMatch(/stacktrace|originalError/i);
  });
});

describe("body keys and media types clients send", () => {
  const send = (body: object | string, headers: Record<string, string> = {}) =>
    fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", ...headers },
      body: typeof body === "string" ? body : JSON.stringify(body),
    });

  test("Apollo Client 4's operationType key is accepted; other unknown keys and values are still refused", async () => {
    const me = await signedIn();
    const auth = { authorization: `Bearer ${me.token}` };
    for (const operationType of ["query", "mutation", "subscription"]) {
      const response = await send({ query: "{ me { id } }", operationType }, auth);
      expect(response.status).toBe(200);
      expect(await response.json()).toEqual({ data: { me: { id: me.id } } });
    }
    const batchless = await send(
      { query: "{ me { id } }", operationType: "query", variables: {}, extensions: {} },
      auth,
    );
    expect(batchless.status).toBe(200);

    for (const bogus of [{ operationType: "banana" }, { operationType: 3 }, { nonsense: true }]) {
      const response = await send({ query: "{ me { id } }", ...bogus }, auth);
      expect(response.status).toBe(400);
      const json = await response.json();
      expect(json.errors[0].message).toMatch(/Unexpected parameter/);
      expect(json.errors[0].extensions.code).toBe("bad_request:api");
      expect(json.data ?? null).toBeNull();
    }
  });

  test("406 says in JSON which media types the gateway answers with; a subscription is refused before it runs", async () => {
    const me = await signedIn();
    const query = await send({ query: "{ me { id } }" }, { authorization: `Bearer ${me.token}`, accept: "text/html" });
    // A turn asked for by a client that reads single JSON results only.
    const { input } = sendInput("Hello?");
    const subscription = await send(
      {
        query: `subscription($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }`,
        variables: { input },
      },
      { authorization: `Bearer ${me.token}`, accept: "application/json" },
    );
    expect(await prisma().message.findUnique({ where: { id: input.message.id } })).toBeNull();
    expect(await prisma().chat.findUnique({ where: { id: input.chatId } })).toBeNull();
    for (const response of [query, subscription]) {
      expect(response.status).toBe(406);
      expect(response.headers.get("content-type")).toContain("application/json");
      const json = await response.json();
      expect(json.errors[0].extensions.code).toBe("bad_request:api");
      expect(json.errors[0].message).toMatch(/application\/json/);
      expect(json.errors[0].message).toMatch(/text\/event-stream/);
      expect(json.errors[0].message).toMatch(/multipart\/mixed;subscriptionSpec/);
    }
  });

  test("415 says in JSON which content types the gateway reads", async () => {
    // With the CSRF header, so the request gets past CSRF prevention (a text/plain post without it is a 403).
    const response = await send("{ me { id } }", { "content-type": "text/plain", "x-graphql-yoga-csrf": "1" });
    expect(response.status).toBe(415);
    expect(response.headers.get("content-type")).toContain("application/json");
    const json = await response.json();
    expect(json.errors[0].extensions.code).toBe("bad_request:api");
    expect(json.errors[0].message).toMatch(/"text\/plain"/);
    expect(json.errors[0].message).toMatch(/application\/json/);
  });
});
