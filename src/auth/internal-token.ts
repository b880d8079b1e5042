import { createHmac } from "node:crypto";
import { jwtVerify } from "jose";

// The gateway -> streamer credential (contract: "The streamer side").
export const INTERNAL_TOKEN_ISSUER = "chat-gateway";
export const INTERNAL_TOKEN_AUDIENCE = "chat-streamer";
const TTL_SECONDS = 60;
// A reused token always has at least TTL - REUSE seconds of life left.
const REUSE_MS = 30_000;
const MAX_CACHED = 1_000;

export type InternalTokenClaims = { userId: string; chatId: string };

const encoder = new TextEncoder();
const cache = new Map<string, { token: Promise<string>; reuseUntil: number }>();

export function signInternalToken(secret: string, claims: InternalTokenClaims): Promise<string> {
  const key = `${secret}\u0000${claims.userId}\u0000${claims.chatId}`;
  const now = Date.now();
  const hit = cache.get(key);
  if (hit && hit.reuseUntil > now) return hit.token;

  const iat = Math.floor(now / 1000);
  const token = Promise.resolve(
    signHs256(secret, {
      chatId: claims.chatId,
      iss: INTERNAL_TOKEN_ISSUER,
      aud: INTERNAL_TOKEN_AUDIENCE,
      sub: claims.userId,
      iat,
      exp: iat + TTL_SECONDS,
    }),
  );
  if (cache.size >= MAX_CACHED) pruneCache(now);
  cache.set(key, { token, reuseUntil: now + REUSE_MS });
  return token;
}

const HEADER = Buffer.from(JSON.stringify({ alg: "HS256", typ: "JWT" })).toString("base64url");

/**
 * A compact HS256 JWT, signed with node:crypto's HMAC on the calling thread:
 * jose signs through WebCrypto, a job on the thread pool for every turn's
 * token (BENCHMARKS.md, "What was tried"). jose verifies every token, here and
 * in the streamer.
 */
function signHs256(secret: string, payload: Record<string, string | number>): string {
  const signed = `${HEADER}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}`;
  return `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
}

export async function verifyInternalToken(secret: string, token: string): Promise<InternalTokenClaims> {
  const { payload } = await jwtVerify(token, encoder.encode(secret), {
    algorithms: ["HS256"],
    issuer: INTERNAL_TOKEN_ISSUER,
    audience: INTERNAL_TOKEN_AUDIENCE,
    requiredClaims: ["sub", "iat", "exp"],
    // Refuses tokens minted with a longer life than the contract allows.
    maxTokenAge: TTL_SECONDS,
  });
  const { sub, chatId } = payload;
  if (typeof sub !== "string" || sub === "" || typeof chatId !== "string" || chatId === "") {
    throw new Error("internal token lacks sub or chatId");
  }
  return { userId: sub, chatId };
}

function pruneCache(now: number): void {
  for (const [key, entry] of cache) if (entry.reuseUntil <= now) cache.delete(key);
  if (cache.size >= MAX_CACHED) cache.clear();
}
