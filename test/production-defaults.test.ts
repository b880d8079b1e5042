import { randomBytes, randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test, vi } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { checkSecrets, developmentSecrets, looseAuthSettings } from "../src/config/secrets.ts";
import { log } from "../src/log.ts";
import { startGateway } from "../src/server.ts";
import { closeGateway, expectError, expectOk } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

const secret = () => randomBytes(32).toString("base64");
const realSecrets = () => ({ AUTH_SECRET: secret(), NEXTJS_INTERNAL_TOKEN: secret() });

const SCHEMA = `{ __schema { types { name } } }`;
const TYPE = `{ __type(name: "Chat") { fields { name } } }`;
const TYPO = `{ me { emial } }`;

/** GET /graphql as a browser asks for a page. */
const browse = (url: string) => fetch(`${url}/graphql`, { headers: { accept: "text/html" } });

describe("secrets with NODE_ENV=production", () => {
  test("the gateway refuses to start on the development AUTH_SECRET and NEXTJS_INTERNAL_TOKEN (or none), naming each", async () => {
    const start = (settings: Record<string, string>) =>
      startGateway(
        parseEnv({ NODE_ENV: "production", LOG_LEVEL: "silent", PORT: "0", DATA_DIR: "memory://", ...settings }),
      );
    const both = start({});
    await expect(both).rejects.toThrow(/AUTH_SECRET/);
    await expect(both).rejects.toThrow(/NEXTJS_INTERNAL_TOKEN/);
    const internal = start({ AUTH_SECRET: secret() });
    await expect(internal).rejects.toThrow(/NEXTJS_INTERNAL_TOKEN/);
    await expect(internal).rejects.not.toThrow(/AUTH_SECRET/);
    // The committed development value, spelled out, is refused like an unset one.
    await expect(
      start({ AUTH_SECRET: "dev-only-secret-change-me-dev-only-secret", NEXTJS_INTERNAL_TOKEN: secret() }),
    ).rejects.toThrow(/AUTH_SECRET/);
    // With a secret file's trailing newline or space too.
    await expect(
      start({ AUTH_SECRET: secret(), NEXTJS_INTERNAL_TOKEN: "dev-only-secret-change-me-dev-only-secret-internal \n" }),
    ).rejects.toThrow(/NEXTJS_INTERNAL_TOKEN/);
  });

  test("with AUTH_JWKS_URL, AUTH_SECRET may stay unset (guest sessions are off then); in direct mode no internal token is needed", () => {
    const production = (settings: Record<string, string>) => parseEnv({ NODE_ENV: "production", ...settings });
    expect(
      developmentSecrets(
        production({ AUTH_JWKS_URL: "https://auth.example.com/jwks", NEXTJS_INTERNAL_TOKEN: secret() }),
        "gateway",
      ),
    ).toEqual([]);
    expect(developmentSecrets(production({ STREAM_MODE: "direct", AUTH_SECRET: secret() }), "gateway")).toEqual([]);
    expect(developmentSecrets(production(realSecrets()), "gateway")).toEqual([]);
    // The streamer on its own needs only its token.
    expect(developmentSecrets(production({ NEXTJS_INTERNAL_TOKEN: secret() }), "streamer")).toEqual([]);
    expect(developmentSecrets(production({ AUTH_SECRET: secret() }), "streamer")).toHaveLength(1);
  });

  test("in development the same settings start, with one warning per process", () => {
    const warn = vi.spyOn(log, "warn").mockImplementation(() => {});
    try {
      checkSecrets(parseEnv({}), "gateway");
      checkSecrets(parseEnv({}), "gateway");
      expect(warn).toHaveBeenCalledTimes(1);
      expect(warn.mock.calls[0][0]).toMatch(/AUTH_SECRET.*NEXTJS_INTERNAL_TOKEN/);
    } finally {
      warn.mockRestore();
    }
  });
});

describe("auth settings that leave a door open", () => {
  test("AUTH_SECRET equal to NEXTJS_INTERNAL_TOKEN is refused at start: every token sent to the streamer would be a user token", () => {
    const same = secret();
    expect(() => parseEnv({ AUTH_SECRET: same, NEXTJS_INTERNAL_TOKEN: `${same}\n` })).toThrow(/NEXTJS_INTERNAL_TOKEN/);
    expect(() => parseEnv(realSecrets())).not.toThrow();
  });

  test("a JWKS without AUTH_AUDIENCE starts with a warning naming it (tokens for other applications pass)", () => {
    expect(looseAuthSettings(parseEnv({ AUTH_JWKS_URL: "https://auth.example.com/jwks" }))).toEqual([
      expect.stringMatching(/AUTH_AUDIENCE/),
    ]);
    expect(
      looseAuthSettings(parseEnv({ AUTH_JWKS_URL: "https://auth.example.com/jwks", AUTH_AUDIENCE: "chat-api" })),
    ).toEqual([]);
    expect(looseAuthSettings(parseEnv({}))).toEqual([]);
  });

  test("on a JWKS with AUTH_SECRET unset, a production gateway serves no /graphql/stream: its tokens' key would be public", async () => {
    const jwksOnly = await startTestGateway({
      NODE_ENV: "production",
      AUTH_JWKS_URL: "https://auth.example.com/.well-known/jwks.json",
      AUTH_AUDIENCE: "chat-api",
      NEXTJS_INTERNAL_TOKEN: secret(),
    });
    try {
      expect((await fetch(`${jwksOnly.url}/graphql/stream`, { method: "PUT" })).status).toBe(404);
    } finally {
      await closeGateway(jwksOnly);
    }
    const withSecret = await startTestGateway({ NODE_ENV: "production", ...realSecrets() });
    try {
      expect((await fetch(`${withSecret.url}/graphql/stream`, { method: "PUT" })).status).toBe(201);
    } finally {
      await closeGateway(withSecret);
    }
  });
});

describe("a production gateway by default", () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ NODE_ENV: "production", ...realSecrets() });
  });
  afterAll(() => closeGateway(gateway));

  test("refuses introspection with bad_request:api; __typename still works", async () => {
    const token = await gateway.tokenFor({ id: "prod-user" });
    for (const query of [SCHEMA, TYPE]) {
      const result = await gateway.gql(query, {}, token);
      expectError(result, "bad_request:api");
      expect(result.errors![0].message).toMatch(/introspection/i);
      expect(result.data ?? null).toBeNull();
    }
    expect(expectOk(await gateway.gql(`{ __typename me { __typename } }`, {}, token))).toEqual({
      __typename: "Query",
      me: { __typename: "User" },
    });
  });

  test('names nothing a client did not ask for (no "Did you mean"), in the document or its variables', async () => {
    const token = await gateway.tokenFor({ id: "prod-user" });
    const VISIBILITY = `mutation($v: Visibility!) { updateChatVisibility(id: "${randomUUID()}", visibility: $v) { id } }`;
    const CREATE = `mutation($input: CreateChatInput!) { createChat(input: $input) { id } }`;
    const cases: [string, Record<string, unknown>, RegExp, RegExp][] = [
      [TYPO, {}, /Cannot query field "emial" on type "User"\.$/, /"email"/],
      [
        `mutation { updateChatVisibility(id: "x", visibility: PUBLICK) { id } }`,
        {},
        /"PUBLICK" does not exist/,
        /"PUBLIC"/,
      ],
      [VISIBILITY, { v: "PUBLICK" }, /"PUBLICK" does not exist/, /"PUBLIC"/],
      [CREATE, { input: { titel: "x" } }, /Field "titel" is not defined/, /"title"/],
    ];
    for (const [query, variables, says, suggestion] of cases) {
      const result = await gateway.gql(query, variables, token);
      expectError(result, "bad_request:api");
      expect(result.errors![0].message).toMatch(says);
      expect(result.errors![0].message).not.toMatch(/did you mean/i);
      expect(JSON.stringify(result)).not.toMatch(suggestion);
    }
  });

  test("serves no GraphiQL page, and tells a browser that it is off", async () => {
    const response = await browse(gateway.url);
    expect(response.status).toBe(406);
    expect(response.headers.get("content-type")).toMatch(/^application\/json/);
    const { errors } = (await response.json()) as { errors: { message: string }[] };
    expect(errors[0].message).toContain(
      "GraphiQL is off here (GRAPHIQL=false, or NODE_ENV=production without GRAPHIQL=true; GRAPHIQL=true serves it).",
    );
  });
});

describe("a production gateway with GRAPHIQL, INTROSPECTION and FIELD_SUGGESTIONS set", () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      NODE_ENV: "production",
      ...realSecrets(),
      GRAPHIQL: "true",
      INTROSPECTION: "true",
      FIELD_SUGGESTIONS: "true",
    });
  });
  afterAll(() => closeGateway(gateway));

  test("answers introspection, suggests fields and serves GraphiQL", async () => {
    const token = await gateway.tokenFor({ id: "prod-user" });
    expect(expectOk(await gateway.gql(SCHEMA, {}, token)).__schema.types.length).toBeGreaterThan(10);
    expect((await gateway.gql(TYPO, {}, token)).errors![0].message).toMatch(/Did you mean "email"/);
    const response = await browse(gateway.url);
    expect(response.headers.get("content-type")).toMatch(/text\/html/);
    expect(await response.text()).toMatch(/graphiql/i);
  });
});

test("development keeps all three on unless set off", () => {
  expect(parseEnv({})).toMatchObject({ GRAPHIQL: true, INTROSPECTION: true, FIELD_SUGGESTIONS: true });
  expect(parseEnv({ NODE_ENV: "production" })).toMatchObject({
    GRAPHIQL: false,
    INTROSPECTION: false,
    FIELD_SUGGESTIONS: false,
  });
  expect(parseEnv({ INTROSPECTION: "false" }).INTROSPECTION).toBe(false);
});
