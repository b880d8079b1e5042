// /graphql/stream as a hostile or careless client uses it: bodies /graphql
// refuses as a whole, other users' streams, odd operation ids. Every refusal is
// the protocol's JSON `{"errors": [...]}` with a code, and nothing runs.
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway, useTestGateway } from "./support/gateway.ts";
import { openStream, payloadOf, reserveStream, postOperation } from "./support/single-connection.ts";
import { startStallProxy, type StallProxy } from "./support/stall-proxy.ts";

failOnUnhandledRejections();

const gateway = useTestGateway({}, { resetEachTest: false });

function post(streamToken: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${gateway.url}/graphql/stream`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "x-graphql-event-stream-token": streamToken,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

/** A user token of `sub` that expired a minute ago, signed as the gateway signs them. */
function expiredToken(sub: string): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ sub, type: "regular", iat: now - 3600, exp: now - 60 })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(gateway.env.AUTH_SECRET));
}

describe("/graphql/stream against hostile requests", () => {
  it("tells a caller with an expired token, or none, to sign in (401), not that the stream is someone else's", async () => {
    const token = await gateway.tokenFor({ id: "expiring-user" });
    const expired = await expiredToken("expiring-user");
    const streamToken = await reserveStream(gateway.url, token);
    const stream = await openStream(gateway.url, streamToken, token);
    try {
      const response = await post(streamToken, expired, {
        query: "{ me { id } }",
        extensions: { operationId: "after-expiry" },
      });
      expect(response.status).toBe(401);
      const { errors } = (await response.json()) as { errors: { extensions: { code: string } }[] };
      expect(errors[0].extensions.code).toBe("unauthorized:chat");
      const unsigned = await fetch(`${gateway.url}/graphql/stream`, {
        method: "POST",
        headers: { "x-graphql-event-stream-token": streamToken, "content-type": "application/json" },
        body: JSON.stringify({ query: "{ me { id } }", extensions: { operationId: "no-token" } }),
      });
      expect(unsigned.status).toBe(401);
      // Another user's valid token is still refused as such.
      const other = await gateway.tokenFor({ id: "not-the-stream-user" });
      const foreign = await post(streamToken, other, {
        query: "{ me { id } }",
        extensions: { operationId: "foreign" },
      });
      expect(foreign.status).toBe(403);
    } finally {
      stream.close();
    }
  });

  it("refuses a PUT with an expired or garbage token (401 unauthorized:chat, /graphql's message); none is anonymous", async () => {
    const put = (authorization?: string) =>
      fetch(`${gateway.url}/graphql/stream`, { method: "PUT", headers: authorization ? { authorization } : {} });
    const expired = await put(`Bearer ${await expiredToken("expired-at-put")}`);
    const onGraphql = await gateway.gql("{ me { id } }", {}, await expiredToken("expired-at-put"));
    expect(expired.status).toBe(401);
    type Refusal = { errors: { message: string; extensions: { code: string } }[] };
    const { errors } = (await expired.json()) as Refusal;
    expect(errors[0]).toEqual({ message: onGraphql.errors![0].message, extensions: { code: "unauthorized:chat" } });
    const garbage = await put("Bearer not-a-jwt");
    expect(garbage.status).toBe(401);
    expect(((await garbage.json()) as Refusal).errors[0].extensions.code).toBe("unauthorized:chat");
    const anonymous = await put();
    expect(anonymous.status).toBe(201);
    // The anonymous stream serves createGuestSession, as /graphql does without a token.
    const streamToken = await anonymous.text();
    const stream = await openStream(gateway.url, streamToken);
    try {
      const response = await fetch(`${gateway.url}/graphql/stream`, {
        method: "POST",
        headers: { "x-graphql-event-stream-token": streamToken, "content-type": "application/json" },
        body: JSON.stringify({
          query: "mutation { createGuestSession { user { type } } }",
          extensions: { operationId: "guest" },
        }),
      });
      expect(response.status).toBe(202);
      const result = await stream.waitFor((frame) => payloadOf(frame, "guest") !== null);
      expect(payloadOf(result, "guest")).toEqual({ data: { createGuestSession: { user: { type: "GUEST" } } } });
    } finally {
      stream.close();
    }
  });

  it("gives every answer's status line its reason phrase (HTTP/1.1 405 Method Not Allowed, not `405 `)", async () => {
    const token = await gateway.tokenFor({ id: "status-line-user" });
    const reserved = await fetch(`${gateway.url}/graphql/stream`, {
      method: "PUT",
      headers: { authorization: `Bearer ${token}` },
    });
    expect([reserved.status, reserved.statusText]).toEqual([201, "Created"]);
    const patched = await fetch(`${gateway.url}/graphql/stream`, { method: "PATCH" });
    expect([patched.status, patched.statusText]).toEqual([405, "Method Not Allowed"]);
    const untokened = await fetch(`${gateway.url}/graphql/stream`, { method: "POST" });
    expect([untokened.status, untokened.statusText]).toEqual([400, "Bad Request"]);
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.statusText).toBe(ready.status === 200 ? "OK" : "Service Unavailable");
  });

  it("answers a body /graphql refuses as a whole with JSON errors on the POST, not an event stream", async () => {
    const token = await gateway.tokenFor({ id: "hostile-body-user" });
    const streamToken = await reserveStream(gateway.url, token);
    const stream = await openStream(gateway.url, streamToken, token);
    try {
      const bodies = [
        { query: "{ me { id } }", unexpected: 1, extensions: { operationId: "unknown-key" } },
        { query: 5, extensions: { operationId: "query-number" } },
        { query: "{ me { id } }", variables: "x", extensions: { operationId: "variables-string" } },
      ];
      for (const body of bodies) {
        const response = await post(streamToken, token, body);
        expect(response.status).toBe(400);
        expect(response.headers.get("content-type")).toContain("application/json");
        const { errors } = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
        expect(errors[0]).toMatchObject({ message: expect.any(String), extensions: { code: "bad_request:api" } });
      }
      // The operations refused never reached the stream, and their ids are free again.
      const again = await post(streamToken, token, {
        query: "{ me { id } }",
        extensions: { operationId: "unknown-key" },
      });
      expect(again.status).toBe(202);
      const result = await stream.waitFor((frame) => payloadOf(frame, "unknown-key") !== null);
      expect(payloadOf(result, "unknown-key")).toEqual({ data: { me: { id: "hostile-body-user" } } });
    } finally {
      stream.close();
    }
  });
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("/graphql/stream while Redis does not answer", () => {
  let proxy: StallProxy;
  let stalled: TestGateway;
  beforeAll(async () => {
    proxy = await startStallProxy(redisUrl!);
    stalled = await startTestGateway({ REDIS_URL: proxy.via(redisUrl!) }, { database: gateway.database });
  });
  afterAll(async () => {
    proxy?.resume();
    await stalled?.close();
    await proxy?.close();
  });

  it("answers 503 offline:chat (try again), not 500, and serves again once Redis answers", async () => {
    const token = await stalled.tokenFor({ id: "redis-stalled-user" });
    const streamToken = await reserveStream(stalled.url, token);
    proxy.pause();
    const refused = await postOperation(
      stalled.url,
      streamToken,
      { query: "{ me { id } }", operationId: "stalled" },
      token,
    );
    expect(refused.status).toBe(503);
    const { errors } = (await refused.json()) as { errors: { message: string; extensions: { code: string } }[] };
    expect(errors[0].extensions.code).toBe("offline:chat");
    expect(errors[0].message).not.toMatch(/redis|retries|timed out/i);

    proxy.resume();
    const again = await reserveStream(stalled.url, token);
    const stream = await openStream(stalled.url, again, token);
    expect(stream.status).toBe(200);
    stream.close();
  }, 30_000);
});
