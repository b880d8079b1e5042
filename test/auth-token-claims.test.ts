// A validly signed token whose user id or email PostgreSQL cannot store
// (U+0000, a lone surrogate) is an invalid token, refused like any other bad
// claim, not a database error on every operation.
import { SignJWT, type JWTPayload } from "jose";
import { describe, expect, test } from "vitest";
import { createUserTokenVerifier } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";

const env = parseEnv({ LOG_LEVEL: "silent" });
const verifier = createUserTokenVerifier(env);
const now = () => Math.floor(Date.now() / 1000);

function signed(claims: JWTPayload): Promise<string> {
  return new SignJWT({ exp: now() + 600, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .sign(new TextEncoder().encode(env.AUTH_SECRET));
}

describe("claims PostgreSQL cannot store", () => {
  test.each([
    ["sub", "U+0000", { sub: "a\u0000b" }],
    ["sub", "a lone surrogate", { sub: "a\ud800b" }],
    ["email", "U+0000", { sub: "someone", email: "x\u0000@example.com" }],
    ["email", "a lone surrogate", { sub: "someone", email: "x\udc00@example.com" }],
  ])('a "%s" claim holding %s: unauthorized:chat', async (claim, _what, claims) => {
    await expect(verifier.verify(await signed(claims))).rejects.toMatchObject({
      code: "unauthorized:chat",
      message: `The token's "${claim}" claim is invalid.`,
    });
  });

  test("emoji and other paired surrogates are fine", async () => {
    const token = await signed({ sub: "user-\u{1f600}", email: "\u{1f600}@example.com" });
    await expect(verifier.verify(token)).resolves.toMatchObject({
      id: "user-\u{1f600}",
      email: "\u{1f600}@example.com",
    });
  });
});
