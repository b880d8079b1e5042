import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { signUserToken } from "../src/auth/user-token.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { closeGateway, expectError, expectOk, newId } from "./support/fixtures.ts";
import { eventually } from "./support/sse.ts";

// A gateway verifying user tokens against a remote JWKS served by a tiny node:http server.
const KID = "test-key-1";
let jwksServer: Server;
let jwksRequests = 0;
let signingKey: CryptoKey;
let gateway: TestGateway;
let port: number;
const OWN_SECRET = "an-operator-chosen-secret-of-at-least-32-chars";

beforeAll(async () => {
  const pair = await generateKeyPair("RS256");
  signingKey = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: KID, alg: "RS256", use: "sig" };
  jwksServer = createServer((request, response) => {
    jwksRequests++;
    if (request.url !== "/.well-known/jwks.json") {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve));
  port = (jwksServer.address() as AddressInfo).port;
  gateway = await startTestGateway({
    AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    AUTH_SECRET: OWN_SECRET,
  });
});
afterAll(async () => {
  await closeGateway(gateway);
  jwksServer?.closeAllConnections();
  await new Promise<void>((resolve) => jwksServer.close(() => resolve()));
});
beforeEach(() => gateway.database.reset());

const ME = `{ me { id type email } }`;

function rs256(claims: JWTPayload, key: CryptoKey = signingKey, kid: string | undefined = KID) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", ...(kid ? { kid } : {}) })
    .setExpirationTime("10m")
    .sign(key);
}

test("an RS256 token signed with the JWKS key is accepted", async () => {
  const id = `user-${newId()}`;
  const data = expectOk(await gateway.gql(ME, {}, await rs256({ sub: id, email: "jwks@example.com" })));
  expect(data.me).toEqual({ id, type: "REGULAR", email: "jwks@example.com" });
  expect(jwksRequests).toBeGreaterThan(0);
  expect(await gateway.database.db.prisma.user.findUnique({ where: { id } })).toMatchObject({ type: "regular" });
});

test("an RS256 token signed with another key is unauthorized:chat", async () => {
  const { privateKey } = await generateKeyPair("RS256");
  // Same kid, wrong key: the signature check fails.
  expectError(await gateway.gql(ME, {}, await rs256({ sub: "intruder" }, privateKey)), "unauthorized:chat");
  // Unknown kid: no key matches.
  expectError(
    await gateway.gql(ME, {}, await rs256({ sub: "intruder" }, privateKey, "other-kid")),
    "unauthorized:chat",
  );
  expect(await gateway.database.db.prisma.user.count()).toBe(0);
});

test("an expired JWKS token is unauthorized:chat", async () => {
  const token = await new SignJWT({ sub: "late" })
    .setProtectedHeader({ alg: "RS256", kid: KID })
    .setExpirationTime(Math.floor(Date.now() / 1000) - 60)
    .sign(signingKey);
  expectError(await gateway.gql(ME, {}, token), "unauthorized:chat");
});

test("an HS256 token signed with an unknown secret is unauthorized:chat", async () => {
  const forged = await new SignJWT({ sub: "forger" })
    .setProtectedHeader({ alg: "HS256", kid: KID })
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode("not-the-gateway-secret-not-the-gateway-secret"));
  expectError(await gateway.gql(ME, {}, forged), "unauthorized:chat");
});

// Unset, or the committed value with a secret file's trailing newline: the development one all the same.
for (const [name, settings] of [
  ["unset", {}],
  ["with a trailing newline", { AUTH_SECRET: "dev-only-secret-change-me-dev-only-secret\n" }],
] as const) {
  test(`with the development AUTH_SECRET (${name}) beside a JWKS, HS256 tokens are refused and guest sessions are off`, async () => {
    const other = await startTestGateway({
      AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
      ...settings,
    });
    try {
      const forged = await signUserToken(other.env, { id: "mallory", type: "regular" }, 600);
      expectError(await other.gql(ME, {}, forged), "unauthorized:chat");
      expectError(await other.gql(`mutation { createGuestSession { token } }`), "bad_request:api");
    } finally {
      await other.close();
    }
  });
}

test("beside a JWKS, AUTH_SECRET signs guest sessions only: a regular user's HS256 token is refused", async () => {
  // Signed with the real secret, as a leaked or guessed one would be: it must not name a user of the identity provider.
  const regular = await signUserToken(gateway.env, { id: "idp-user", type: "regular" }, 600);
  expectError(await gateway.gql(ME, {}, regular), "unauthorized:chat");
  const guest = await signUserToken(gateway.env, { id: newId(), type: "guest" }, 600);
  expect(expectOk(await gateway.gql(ME, {}, guest)).me.type).toBe("GUEST");
});

test("a token whose nbf is a few seconds ahead (the identity provider's clock) is accepted; exp is held strictly", async () => {
  const id = `user-${newId()}`;
  const early = await new SignJWT({ sub: id })
    .setProtectedHeader({ alg: "RS256", kid: KID })
    .setNotBefore(Math.floor(Date.now() / 1000) + 3)
    .setExpirationTime("10m")
    .sign(signingKey);
  expect(expectOk(await gateway.gql(ME, {}, early)).me.id).toBe(id);
  const justExpired = await new SignJWT({ sub: id })
    .setProtectedHeader({ alg: "RS256", kid: KID })
    .setExpirationTime(Math.floor(Date.now() / 1000) - 2)
    .sign(signingKey);
  expectError(await gateway.gql(ME, {}, justExpired), "unauthorized:chat");
});

test("a key the JWKS publishes after the gateway read it is fetched within seconds of a token naming it", async () => {
  const first = await generateKeyPair("RS256");
  const second = await generateKeyPair("RS256");
  const keys = [{ ...(await exportJWK(first.publicKey)), kid: "first", alg: "RS256", use: "sig" }];
  const rotating = createServer((_request, response) =>
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys })),
  );
  await new Promise<void>((resolve) => rotating.listen(0, "127.0.0.1", resolve));
  const other = await startTestGateway({
    AUTH_JWKS_URL: `http://127.0.0.1:${(rotating.address() as AddressInfo).port}/jwks.json`,
    AUTH_SECRET: OWN_SECRET,
  });
  try {
    expectOk(await other.gql(ME, {}, await rs256({ sub: `user-${newId()}` }, first.privateKey, "first")));
    // Published and used at once (a key rotation): jose's default waited 30 s before reading the set again.
    keys.push({ ...(await exportJWK(second.publicKey)), kid: "second", alg: "RS256", use: "sig" });
    const token = await rs256({ sub: `user-${newId()}` }, second.privateKey, "second");
    const started = Date.now();
    await eventually(async () => !(await other.gql(ME, {}, token)).errors, 12_000);
    expect(Date.now() - started).toBeLessThan(12_000);
  } finally {
    await closeGateway(other);
    rotating.closeAllConnections();
    await new Promise<void>((resolve) => rotating.close(() => resolve()));
  }
});

test("a guest session still works when user tokens come from a JWKS", async () => {
  const data = expectOk(await gateway.gql(`mutation { createGuestSession { token user { id type } } }`));
  const { token, user } = data.createGuestSession;
  expect(user.type).toBe("GUEST");
  // The gateway must accept the tokens it issues itself.
  expect(expectOk(await gateway.gql(ME, {}, token)).me).toMatchObject({ id: user.id, type: "GUEST" });
});

test("a JWKS that cannot be read makes a good token offline:chat (try again), not invalid", async () => {
  // Nothing listens there: the key set's fetch is refused.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const deadPort = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const down = await startTestGateway({
    AUTH_JWKS_URL: `http://127.0.0.1:${deadPort}/.well-known/jwks.json`,
    AUTH_SECRET: OWN_SECRET,
  });
  try {
    const refused = await down.gql(ME, {}, await rs256({ sub: `user-${newId()}` }));
    expect(refused.errors?.[0].extensions).toMatchObject({ code: "offline:chat", retryable: true });
    expect(refused.errors?.[0].message).toBe(
      "Sign-in tokens cannot be checked right now. Please try again in a few seconds.",
    );
  } finally {
    await closeGateway(down);
  }
});

test("a JWKS that answers other than 200 makes a good token offline:chat", async () => {
  const broken = createServer((_request, response) => response.writeHead(502).end("bad gateway"));
  await new Promise<void>((resolve) => broken.listen(0, "127.0.0.1", resolve));
  const down = await startTestGateway({
    AUTH_JWKS_URL: `http://127.0.0.1:${(broken.address() as AddressInfo).port}/jwks.json`,
    AUTH_SECRET: OWN_SECRET,
  });
  try {
    const refused = await down.gql(ME, {}, await rs256({ sub: `user-${newId()}` }));
    expect(refused.errors?.[0].extensions).toMatchObject({ code: "offline:chat" });
  } finally {
    await closeGateway(down);
    broken.closeAllConnections();
    await new Promise<void>((resolve) => broken.close(() => resolve()));
  }
});
