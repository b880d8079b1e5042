import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { closeGateway, expectOk } from "./support/fixtures.ts";
import { startTestGateway, useTestGateway, type TestGateway } from "./support/gateway.ts";
import { parseSseFrames, SEND_MESSAGE, sendInput, subscribeWithClient, subscribeWithFetch } from "./support/sse.ts";

const gateway = useTestGateway();

const GUEST = "mutation { createGuestSession { token } }";
const ME = "{ me { id } }";

/** What a browser on `origin` would be allowed to read: the CORS headers of the answer. */
async function corsHeaders(url: string, origin: string, method: "POST" | "OPTIONS" = "POST") {
  const response = await fetch(`${url}/graphql`, {
    method,
    headers:
      method === "OPTIONS"
        ? {
            origin,
            "access-control-request-method": "POST",
            "access-control-request-headers": "content-type, authorization",
          }
        : { origin, "content-type": "application/json" },
    body: method === "POST" ? JSON.stringify({ query: "{ __typename }" }) : undefined,
  });
  await response.arrayBuffer();
  // The answer depends on the Origin: a shared cache must not hand it to another origin.
  expect(response.headers.get("vary") ?? "").toMatch(/(^|,\s*)Origin(,|$)/);
  return {
    allowOrigin: response.headers.get("access-control-allow-origin"),
    allowCredentials: response.headers.get("access-control-allow-credentials"),
  };
}

describe("CORS in development (CORS_ORIGINS unset)", () => {
  test("another site's origin gets no CORS headers, on the request or its preflight", async () => {
    for (const method of ["POST", "OPTIONS"] as const) {
      expect(await corsHeaders(gateway.url, "https://evil.example", method)).toEqual({
        allowOrigin: null,
        allowCredentials: null,
      });
    }
  });

  test("a localhost origin (a dev server) is allowed, without credentials", async () => {
    for (const origin of ["http://localhost:5173", "http://127.0.0.1:3000"]) {
      expect(await corsHeaders(gateway.url, origin, "OPTIONS")).toEqual({
        allowOrigin: origin,
        allowCredentials: null,
      });
      expect(await corsHeaders(gateway.url, origin)).toEqual({ allowOrigin: origin, allowCredentials: null });
    }
  });
});

describe("CORS in production with CORS_ORIGINS", () => {
  let production: TestGateway;
  beforeAll(async () => {
    production = await startTestGateway({
      NODE_ENV: "production",
      AUTH_SECRET: randomBytes(32).toString("base64"),
      NEXTJS_INTERNAL_TOKEN: randomBytes(32).toString("base64"),
      CORS_ORIGINS: "https://app.example.com, https://admin.example.com/",
    });
  });
  afterAll(() => closeGateway(production));

  test("only the listed origins are allowed; localhost is not", async () => {
    for (const origin of ["https://app.example.com", "https://admin.example.com"]) {
      expect(await corsHeaders(production.url, origin, "OPTIONS")).toEqual({
        allowOrigin: origin,
        allowCredentials: null,
      });
    }
    for (const origin of ["https://evil.example", "http://localhost:5173", "https://app.example.com.evil.example"]) {
      expect((await corsHeaders(production.url, origin, "OPTIONS")).allowOrigin).toBeNull();
      expect((await corsHeaders(production.url, origin)).allowOrigin).toBeNull();
    }
  });
});

test("CORS_ORIGINS takes origins or *, and refuses anything else by name", () => {
  expect(parseEnv({ CORS_ORIGINS: " https://a.example.com/ ,http://localhost:8080,*" }).CORS_ORIGINS).toEqual([
    "https://a.example.com",
    "http://localhost:8080",
    "*",
  ]);
  expect(parseEnv({}).CORS_ORIGINS).toEqual([]);
  expect(() => parseEnv({ CORS_ORIGINS: "a.example.com,https://b.example.com/app" })).toThrow(
    /CORS_ORIGINS.*a\.example\.com, https:\/\/b\.example\.com\/app/,
  );
});

describe("requests a browser sends from any site without a preflight", () => {
  const refusedAndNothingRan = async (response: Response) => {
    expect(response.status).toBe(403);
    const body = await response.json();
    expect(body.errors[0].extensions.code).toBe("bad_request:api");
    expect(body.errors[0].message).toMatch(/JSON POST.*x-graphql-yoga-csrf/);
    expect(body.data ?? null).toBeNull();
    expect(await gateway.database.db.prisma.user.count()).toBe(0);
  };

  test("a form post (urlencoded or multipart) or a text/plain post runs nothing", async () => {
    const form = new FormData();
    form.set("operations", JSON.stringify({ query: GUEST }));
    form.set("map", "{}");
    const posts: RequestInit[] = [
      { headers: { "content-type": "application/x-www-form-urlencoded" }, body: `query=${encodeURIComponent(GUEST)}` },
      { body: form },
      { headers: { "content-type": "text/plain" }, body: JSON.stringify({ query: GUEST }) },
    ];
    for (const init of posts)
      await refusedAndNothingRan(await fetch(`${gateway.url}/graphql`, { method: "POST", ...init }));
  });

  test("a GET with neither a token nor x-graphql-yoga-csrf runs nothing", async () => {
    await refusedAndNothingRan(await fetch(`${gateway.url}/graphql?query=${encodeURIComponent(ME)}`));
  });

  test("with x-graphql-yoga-csrf a form post runs (a non-browser client may send one)", async () => {
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", "x-graphql-yoga-csrf": "1" },
      body: `query=${encodeURIComponent(GUEST)}`,
    });
    expect(expectOk(await response.json()).createGuestSession.token).toEqual(expect.any(String));
  });
});

describe("the gateway's own clients still work", () => {
  const signIn = async () => expectOk(await gateway.gql(GUEST)).createGuestSession.token as string;

  test("JSON POST, SSE over a JSON POST, and the graphql-sse client", async () => {
    const token = await signIn();
    expect(expectOk(await gateway.gql(ME, {}, token)).me.id).toEqual(expect.any(String));
    const byFetch = await subscribeWithFetch(gateway.url, sendInput("[plain] hi"), { token });
    expect(byFetch.events.at(-1)?.__typename).toBe("StreamFinished");
    const byClient = await subscribeWithClient(gateway.url, sendInput("[plain] hi"), { token });
    expect(byClient.error).toBeUndefined();
    expect(byClient.events.at(-1)?.__typename).toBe("StreamFinished");
  });

  test("a subscription over SSE by GET, as GraphiQL sends it (token, or its x-graphql-yoga-csrf header)", async () => {
    const token = await signIn();
    const params = new URLSearchParams({ query: SEND_MESSAGE, variables: JSON.stringify(sendInput("[plain] hi")) });
    const response = await fetch(`${gateway.url}/graphql?${params}`, {
      headers: { accept: "text/event-stream", authorization: `Bearer ${token}`, "x-graphql-yoga-csrf": "graphiql" },
    });
    expect(response.status).toBe(200);
    const { frames } = parseSseFrames(await response.text());
    const events = frames.filter((f) => f.event === "next").map((f) => JSON.parse(f.data).data.sendMessage.__typename);
    expect(events.at(-1)).toBe("StreamFinished");
    // Without a token but with the header, the request gets through to the resolver, which refuses it.
    const anonymous = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent(ME)}`, {
      headers: { accept: "application/json", "x-graphql-yoga-csrf": "graphiql" },
    });
    expect((await anonymous.json()).errors[0].extensions.code).toBe("unauthorized:chat");
  });

  test("GraphiQL's page sends the CSRF header with every request", async () => {
    const page = await (await fetch(`${gateway.url}/graphql`, { headers: { accept: "text/html" } })).text();
    expect(page.includes('"x-graphql-yoga-csrf"'), "the header in GraphiQL's options").toBe(true);
  });
});
