import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWTPayload } from "jose";
import { afterAll, beforeAll, beforeEach, expect, test } from "vitest";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { expectError, expectOk, newId } from "./support/fixtures.ts";

// A gateway verifying user tokens against a remote JWKS served by a tiny node:http server.
const KID = "test-key-1";
let jwksServer: Server;
let jwksRequests = 0;
let signingKey: CryptoKey;
let gateway: TestGateway;

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
  const { port } = jwksServer.address() as AddressInfo;
  gateway = await startTestGateway({ AUTH_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json` });
});
afterAll(async () => {
  await gateway?.close();
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
  expectError(await gateway.gql(ME, {}, await rs256({ sub: "intruder" }, privateKey, "other-kid")), "unauthorized:chat");
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

test("a guest session still works when user tokens come from a JWKS", async () => {
  const data = expectOk(await gateway.gql(`mutation { createGuestSession { token user { id type } } }`));
  const { token, user } = data.createGuestSession;
  expect(user.type).toBe("GUEST");
  // The gateway must accept the tokens it issues itself.
  expect(expectOk(await gateway.gql(ME, {}, token)).me).toMatchObject({ id: user.id, type: "GUEST" });
});
