import { jwtVerify, SignJWT } from "jose";

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

  const token = signingKey(secret).then((key) =>
    new SignJWT({ chatId: claims.chatId })
      .setProtectedHeader({ alg: "HS256", typ: "JWT" })
      .setIssuer(INTERNAL_TOKEN_ISSUER)
      .setAudience(INTERNAL_TOKEN_AUDIENCE)
      .setSubject(claims.userId)
      .setIssuedAt(Math.floor(now / 1000))
      .setExpirationTime(Math.floor(now / 1000) + TTL_SECONDS)
      .sign(key),
  );
  token.catch(() => {
    if (cache.get(key)?.token === token) cache.delete(key);
  });

  if (cache.size >= MAX_CACHED) pruneCache(now);
  cache.set(key, { token, reuseUntil: now + REUSE_MS });
  return token;
}

// Imported once per secret: jose would import the raw secret on every sign.
const signingKeys = new Map<string, Promise<CryptoKey>>();

function signingKey(secret: string): Promise<CryptoKey> {
  let key = signingKeys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
    signingKeys.set(secret, key);
  }
  return key;
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
