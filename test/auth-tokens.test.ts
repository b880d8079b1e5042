import { existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { decodeJwt, generateKeyPair, SignJWT, type JWTPayload } from "jose";
import { describe, expect, test } from "vitest";
import { createUserTokenVerifier } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";
import { useTestGateway } from "./support/gateway.ts";
import { expectError, expectOk, newId } from "./support/fixtures.ts";

// The default gateway: HS256 with AUTH_SECRET, no issuer or audience configured.
const gateway = useTestGateway();

const ME = `{ me { id type email } }`;
const now = () => Math.floor(Date.now() / 1000);

function hs256(claims: JWTPayload, secret = gateway.env.AUTH_SECRET) {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(new TextEncoder().encode(secret));
}

/** POSTs `{ me }` with a raw Authorization header. */
async function meWithHeader(authorization: string) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization },
    body: JSON.stringify({ query: ME }),
  });
  return response.json();
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");

describe("valid tokens", () => {
  test("an HS256 token is accepted and its user is created on first sight with type and email", async () => {
    const id = `user-${newId()}`;
    const token = await hs256({ sub: id, type: "regular", email: "ada@example.com", exp: now() + 600 });
    expect(await gateway.database.db.prisma.user.findUnique({ where: { id } })).toBeNull();
    const data = expectOk(await gateway.gql(ME, {}, token));
    expect(data.me).toEqual({ id, type: "REGULAR", email: "ada@example.com" });
    expect(await gateway.database.db.prisma.user.findUnique({ where: { id } })).toMatchObject({
      id,
      type: "regular",
      email: "ada@example.com",
    });
  });

  test("a token without a type claim is a regular user; type guest is a guest", async () => {
    const regular = `user-${newId()}`;
    const guest = `user-${newId()}`;
    expect(expectOk(await gateway.gql(ME, {}, await hs256({ sub: regular, exp: now() + 600 }))).me).toEqual({
      id: regular,
      type: "REGULAR",
      email: null,
    });
    expect(
      expectOk(await gateway.gql(ME, {}, await hs256({ sub: guest, type: "guest", exp: now() + 600 }))).me,
    ).toMatchObject({
      id: guest,
      type: "GUEST",
    });
  });

  test("a later token refreshes the stored email and type", async () => {
    const id = `user-${newId()}`;
    await gateway.gql(ME, {}, await hs256({ sub: id, type: "guest", exp: now() + 600 }));
    const data = expectOk(
      await gateway.gql(ME, {}, await hs256({ sub: id, email: "new@example.com", exp: now() + 601 })),
    );
    expect(data.me).toEqual({ id, type: "REGULAR", email: "new@example.com" });
    expect(await gateway.database.db.prisma.user.findUnique({ where: { id } })).toMatchObject({
      type: "regular",
      email: "new@example.com",
    });
  });

  test("iss and aud are not required, and not checked, when AUTH_ISSUER/AUTH_AUDIENCE are unset", async () => {
    const id = `user-${newId()}`;
    expectOk(await gateway.gql(ME, {}, await hs256({ sub: id, exp: now() + 600 })));
    const data = expectOk(
      await gateway.gql(ME, {}, await hs256({ sub: id, iss: "anyone", aud: "anything", exp: now() + 600 })),
    );
    expect(data.me.id).toBe(id);
  });

  test("the Bearer scheme is case-insensitive", async () => {
    const id = `user-${newId()}`;
    const token = await hs256({ sub: id, exp: now() + 600 });
    expect((await meWithHeader(`bearer ${token}`)).data?.me?.id).toBe(id);
  });
});

describe("refused tokens", () => {
  const cases: [string, () => Promise<string>][] = [
    ["expired", () => hs256({ sub: "u-expired", exp: now() - 120 })],
    ["not yet valid (nbf in the future)", () => hs256({ sub: "u-nbf", nbf: now() + 3600, exp: now() + 7200 })],
    [
      "signed with another secret",
      () => hs256({ sub: "u-wrong-secret", exp: now() + 600 }, "another-secret-another-secret-0123456789"),
    ],
    [
      "unsigned (alg: none)",
      async () => `${b64({ alg: "none", typ: "JWT" })}.${b64({ sub: "u-none", exp: now() + 600 })}.`,
    ],
    [
      "RS256 when only HS256 is allowed",
      async () => {
        const { privateKey } = await generateKeyPair("RS256");
        return new SignJWT({ sub: "u-rs256" })
          .setProtectedHeader({ alg: "RS256" })
          .setExpirationTime("10m")
          .sign(privateKey);
      },
    ],
    [
      "HS256 header with the signature stripped",
      async () => `${(await hs256({ sub: "u-stripped", exp: now() + 600 })).split(".").slice(0, 2).join(".")}.`,
    ],
    [
      "payload altered after signing",
      async () => {
        const [header, , signature] = (await hs256({ sub: "u-original", exp: now() + 600 })).split(".");
        return `${header}.${b64({ sub: "u-altered", exp: now() + 600 })}.${signature}`;
      },
    ],
    ["without sub", () => hs256({ type: "regular", exp: now() + 600 })],
    ["with an unknown type", () => hs256({ sub: "u-admin", type: "admin", exp: now() + 600 })],
    ["garbage", async () => "not-a-jwt"],
    ["three garbage segments", async () => "abc.def.ghi"],
  ];

  for (const [name, make] of cases) {
    test(`${name}: unauthorized:chat, and no user is created`, async () => {
      const token = await make();
      const result = await gateway.gql(ME, {}, token);
      expectError(result, "unauthorized:chat");
      expect(result.data?.me ?? null).toBeNull();
      // A mutation is refused the same way.
      expectError(await gateway.gql(`mutation { createChat(input: {}) { id } }`, {}, token), "unauthorized:chat");
      expect(await gateway.database.db.prisma.user.count()).toBe(0);
      expect(await gateway.database.db.prisma.chat.count()).toBe(0);
    });
  }

  for (const header of ["Token abc", "Basic dXNlcjpwYXNz", "Bearer", "Bearer a b", "abc"]) {
    test(`a malformed Authorization header (${JSON.stringify(header)}) is unauthorized:chat`, async () => {
      expectError(await meWithHeader(header), "unauthorized:chat");
    });
  }

  test("no token is unauthorized:chat", async () => {
    expectError(await gateway.gql(ME), "unauthorized:chat");
    expectError(await gateway.gql(`{ chats { edges { cursor } } }`), "unauthorized:chat");
    expectError(await gateway.gql(`mutation { createChat(input: {}) { id } }`), "unauthorized:chat");
  });

  test("a token that was accepted is refused once it has expired", async () => {
    const token = await hs256({ sub: `user-${newId()}`, exp: now() + 2 });
    expectOk(await gateway.gql(ME, {}, token));
    await new Promise((resolve) => setTimeout(resolve, 3100));
    expectError(await gateway.gql(ME, {}, token), "unauthorized:chat");
  });
});

describe("token lifetime", () => {
  const DAY = 24 * 60 * 60;
  const refusal = async (claims: JWTPayload) => {
    const result = await gateway.gql(ME, {}, await hs256(claims));
    expectError(result, "unauthorized:chat");
    return result.errors![0].message;
  };

  test("a token without exp is refused, saying tokens must expire", async () => {
    expect(await refusal({ sub: `user-${newId()}`, iat: now() })).toMatch(/"exp".*must expire/);
    expect(await refusal({ sub: `user-${newId()}` })).toMatch(/"exp"/);
    expect(await gateway.database.db.prisma.user.count()).toBe(0);
  });

  test("a token living longer than MAX_TOKEN_LIFETIME_SECONDS (30 days by default) from its iat is refused", async () => {
    expect(gateway.env.MAX_TOKEN_LIFETIME_SECONDS).toBe(30 * DAY);
    expect(await refusal({ sub: `user-${newId()}`, iat: now(), exp: now() + 31 * DAY })).toMatch(/longer than/);
    // Issued long ago with a ten-year life: still refused, though it expires later than now + 30 days only.
    expect(await refusal({ sub: `user-${newId()}`, iat: now() - 365 * DAY, exp: now() + 9 * 365 * DAY })).toMatch(
      /longer than/,
    );
    // Exactly 30 days, as a guest token lives: accepted.
    const id = `user-${newId()}`;
    expect(expectOk(await gateway.gql(ME, {}, await hs256({ sub: id, iat: now(), exp: now() + 30 * DAY }))).me.id).toBe(
      id,
    );
  });

  test("without iat, or with one in the future, the lifetime counts from now", async () => {
    expect(await refusal({ sub: `user-${newId()}`, exp: now() + 31 * DAY })).toMatch(/longer than/);
    expect(await refusal({ sub: `user-${newId()}`, iat: now() + 365 * DAY, exp: now() + 366 * DAY })).toMatch(
      /longer than/,
    );
    const id = `user-${newId()}`;
    expect(expectOk(await gateway.gql(ME, {}, await hs256({ sub: id, exp: now() + 600 }))).me.id).toBe(id);
  });

  test("MAX_TOKEN_LIFETIME_SECONDS is configurable, and must leave room for guest tokens", async () => {
    const env = parseEnv({ MAX_TOKEN_LIFETIME_SECONDS: "3600", GUEST_TOKEN_TTL_SECONDS: "3600" });
    const verifier = createUserTokenVerifier(env);
    const sign = (exp: number) => hs256({ sub: "someone", iat: now(), exp }, env.AUTH_SECRET);
    await expect(verifier.verify(await sign(now() + 3600))).resolves.toMatchObject({ id: "someone" });
    await expect(verifier.verify(await sign(now() + 3601 + 60))).rejects.toMatchObject({ code: "unauthorized:chat" });
    expect(() => parseEnv({ MAX_TOKEN_LIFETIME_SECONDS: "3600" })).toThrow(/GUEST_TOKEN_TTL_SECONDS/);
  });
});

describe("createGuestSession", () => {
  const GUEST = `mutation { createGuestSession { token user { id type email messagesLeftToday } } }`;

  test("works without a token; its token is accepted and its user is a GUEST", async () => {
    const data = expectOk(await gateway.gql(GUEST));
    const { token, user } = data.createGuestSession;
    expect(user).toMatchObject({ type: "GUEST", email: null, messagesLeftToday: 20 });
    expect(decodeJwt(token)).toMatchObject({ sub: user.id, type: "guest" });
    expect(decodeJwt(token).exp).toBeGreaterThan(now());
    expect(expectOk(await gateway.gql(ME, {}, token)).me).toEqual({ id: user.id, type: "GUEST", email: null });
    expect(await gateway.database.db.prisma.user.findUnique({ where: { id: user.id } })).toMatchObject({
      type: "guest",
    });
  });

  test("carries no iss/aud when none is configured", async () => {
    const { token } = expectOk(await gateway.gql(GUEST)).createGuestSession;
    const claims = decodeJwt(token);
    expect(claims.iss).toBeUndefined();
    expect(claims.aud).toBeUndefined();
  });

  test("works with an expired, a garbage or a malformed token", async () => {
    const expired = await hs256({ sub: "someone", exp: now() - 60 });
    for (const token of [expired, "garbage"]) {
      expect(expectOk(await gateway.gql(GUEST, {}, token)).createGuestSession.user.type).toBe("GUEST");
    }
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Token abc" },
      body: JSON.stringify({ query: GUEST }),
    });
    const body = await response.json();
    expect(body.errors).toBeUndefined();
    expect(body.data.createGuestSession.user.type).toBe("GUEST");
  });

  test("every call is a new guest", async () => {
    const a = expectOk(await gateway.gql(GUEST)).createGuestSession.user.id;
    const b = expectOk(await gateway.gql(GUEST)).createGuestSession.user.id;
    expect(a).not.toBe(b);
  });
});

describe("the dev token script", () => {
  const script = fileURLToPath(new URL("../scripts/mint-token.ts", import.meta.url));
  test.skipIf(!existsSync(script))("scripts/mint-token.ts prints a token the gateway accepts", async () => {
    const run = spawnSync(process.execPath, [script], {
      env: { ...process.env, AUTH_SECRET: gateway.env.AUTH_SECRET, LOG_LEVEL: "silent" },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.status, run.stderr).toBe(0);
    const token = run.stdout.match(/[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/)?.[0];
    expect(token, run.stdout).toBeDefined();
    const data = expectOk(await gateway.gql(ME, {}, token));
    expect(data.me.type).toBe("REGULAR");
  });

  test.skipIf(!existsSync(script))("refuses a lifetime the gateway would refuse, saying so, with no stack", () => {
    for (const ttl of ["abc", "0", "-5", "99999999"]) {
      const run = spawnSync(process.execPath, [script, `--ttl=${ttl}`], {
        env: { ...process.env, LOG_LEVEL: "silent" },
        encoding: "utf8",
        timeout: 20_000,
      });
      expect(run.status, ttl).toBe(2);
      expect(run.stderr).toMatch(/--ttl must be a whole number of seconds from 1 to \d+/);
      expect(run.stderr).not.toMatch(/\bat \w/);
    }
  });
});
