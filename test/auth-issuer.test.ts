import { decodeJwt, SignJWT, type JWTPayload } from "jose";
import { expect, test } from "vitest";
import { useTestGateway } from "./support/gateway.ts";
import { expectError, expectOk, newId } from "./support/fixtures.ts";

// A gateway with AUTH_ISSUER and AUTH_AUDIENCE set: both are then required and checked.
const ISSUER = "https://auth.example.test/";
const AUDIENCE = "chat-gateway-tests";

const gateway = useTestGateway({ AUTH_ISSUER: ISSUER, AUTH_AUDIENCE: AUDIENCE });

const ME = `{ me { id type } }`;

function hs256(claims: JWTPayload) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setExpirationTime("10m")
    .sign(new TextEncoder().encode(gateway.env.AUTH_SECRET));
}

test("a token with the configured issuer and audience is accepted", async () => {
  const id = `user-${newId()}`;
  expect(expectOk(await gateway.gql(ME, {}, await hs256({ sub: id, iss: ISSUER, aud: AUDIENCE }))).me.id).toBe(id);
  // An audience list containing ours is fine too.
  const listed = await hs256({ sub: id, iss: ISSUER, aud: ["someone-else", AUDIENCE] });
  expect(expectOk(await gateway.gql(ME, {}, listed)).me.id).toBe(id);
});

for (const [name, claims] of [
  ["a wrong issuer", { iss: "https://evil.example.test/", aud: AUDIENCE }],
  ["a wrong audience", { iss: ISSUER, aud: "another-app" }],
  ["no issuer", { aud: AUDIENCE }],
  ["no audience", { iss: ISSUER }],
  ["neither", {}],
] as const) {
  test(`a token with ${name} is unauthorized:chat`, async () => {
    const result = await gateway.gql(ME, {}, await hs256({ sub: `user-${newId()}`, ...claims }));
    expectError(result, "unauthorized:chat");
    expect(await gateway.database.db.prisma.user.count()).toBe(0);
  });
}

test("guest tokens carry the configured iss and aud, and are accepted", async () => {
  const data = expectOk(await gateway.gql(`mutation { createGuestSession { token user { id type } } }`));
  const { token, user } = data.createGuestSession;
  expect(decodeJwt(token)).toMatchObject({ iss: ISSUER, aud: AUDIENCE, sub: user.id, type: "guest" });
  expect(expectOk(await gateway.gql(ME, {}, token)).me).toEqual({ id: user.id, type: "GUEST" });
});
