import { decodeJwt, decodeProtectedHeader, SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { signInternalToken, verifyInternalToken } from "../src/auth/internal-token.ts";

const SECRET = "internal-token-test-secret-0123456789abcdef";
const key = new TextEncoder().encode(SECRET);
const now = () => Math.floor(Date.now() / 1000);

function handMade(overrides: { iss?: string; aud?: string; iat?: number; exp?: number; chatId?: string } = {}) {
  return new SignJWT({ chatId: overrides.chatId ?? "chat-1" })
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(overrides.iss ?? "chat-gateway")
    .setAudience(overrides.aud ?? "chat-streamer")
    .setSubject("user-1")
    .setIssuedAt(overrides.iat ?? now())
    .setExpirationTime(overrides.exp ?? now() + 60);
}

describe("internal token", () => {
  it("round-trips the user and chat with the contract's claims", async () => {
    const token = await signInternalToken(SECRET, { userId: "user-1", chatId: "chat-1" });
    expect(await verifyInternalToken(SECRET, token)).toEqual({ userId: "user-1", chatId: "chat-1" });
    expect(decodeProtectedHeader(token).alg).toBe("HS256");
    const claims = decodeJwt(token);
    expect(claims).toMatchObject({ iss: "chat-gateway", aud: "chat-streamer", sub: "user-1", chatId: "chat-1" });
    expect(claims.exp! - claims.iat!).toBe(60);
  });

  it("reuses a token for the same user and chat only", async () => {
    const a = await signInternalToken(SECRET, { userId: "user-2", chatId: "chat-2" });
    expect(await signInternalToken(SECRET, { userId: "user-2", chatId: "chat-2" })).toBe(a);
    expect(await signInternalToken(SECRET, { userId: "user-2", chatId: "chat-3" })).not.toBe(a);
    expect(await signInternalToken(SECRET, { userId: "user-3", chatId: "chat-2" })).not.toBe(a);
    expect(await signInternalToken(`${SECRET}-other`, { userId: "user-2", chatId: "chat-2" })).not.toBe(a);
  });

  it("accepts a hand-made token with the same claims", async () => {
    expect(await verifyInternalToken(SECRET, await handMade().sign(key))).toEqual({
      userId: "user-1",
      chatId: "chat-1",
    });
  });

  it("refuses an expired token", async () => {
    const token = await handMade({ iat: now() - 120, exp: now() - 60 }).sign(key);
    await expect(verifyInternalToken(SECRET, token)).rejects.toThrow();
  });

  it("refuses a token signed with another secret", async () => {
    const token = await signInternalToken(`${SECRET}-wrong`, { userId: "user-1", chatId: "chat-1" });
    await expect(verifyInternalToken(SECRET, token)).rejects.toThrow();
  });

  it("refuses a wrong audience or issuer", async () => {
    await expect(verifyInternalToken(SECRET, await handMade({ aud: "someone-else" }).sign(key))).rejects.toThrow();
    await expect(verifyInternalToken(SECRET, await handMade({ iss: "someone-else" }).sign(key))).rejects.toThrow();
  });

  it('refuses alg "none"', async () => {
    const token = new UnsecuredJWT({ chatId: "chat-1" })
      .setIssuer("chat-gateway")
      .setAudience("chat-streamer")
      .setSubject("user-1")
      .setIssuedAt()
      .setExpirationTime("60s")
      .encode();
    await expect(verifyInternalToken(SECRET, token)).rejects.toThrow();
  });

  it("refuses a token without a chatId or one older than 60 s", async () => {
    await expect(verifyInternalToken(SECRET, await handMade({ chatId: "" }).sign(key))).rejects.toThrow();
    const old = await handMade({ iat: now() - 3600, exp: now() + 3600 }).sign(key);
    await expect(verifyInternalToken(SECRET, old)).rejects.toThrow();
  });

  it("refuses garbage", async () => {
    await expect(verifyInternalToken(SECRET, "not-a-jwt")).rejects.toThrow();
  });
});
