import { createRemoteJWKSet, decodeProtectedHeader, errors, jwtVerify, SignJWT, type JWTVerifyGetKey } from "jose";
import { isDevelopmentSecret, type Env } from "../config/env.ts";
import { ChatSDKError } from "../errors.ts";
import { log } from "../log.ts";
import type { UserIdentity } from "../db/users.ts";
import { isStorable } from "../db/storable-text.ts";

const ALGORITHMS_SECRET = ["HS256"];
const ALGORITHMS_JWKS = ["RS256", "PS256", "ES256", "EdDSA"];
const CACHE_LIMIT = 10_000;
const JWKS_COOLDOWN_MS = 5_000;
const CLOCK_TOLERANCE_SECONDS = 10;

export interface UserTokenVerifier {
  verify(token: string): Promise<UserIdentity>;
}

/**
 * Verifies `Authorization: Bearer` user tokens: HS256 with AUTH_SECRET, or a
 * remote JWKS when AUTH_JWKS_URL is set; iss/aud checked when configured.
 * Every token must expire (`exp`), within MAX_TOKEN_LIFETIME_SECONDS of its
 * `iat`, or of now when it has none or one in the future: a token without
 * `iat` is accepted only in the last MAX_TOKEN_LIFETIME_SECONDS of its life.
 * With a JWKS, HS256 tokens (the gateway's own guest sessions) are still
 * accepted when AUTH_SECRET was set explicitly, never with the development default.
 * Verified tokens are cached until they expire (jose verifies through async
 * WebCrypto, a cost a busy server should pay once per token).
 */
export function createUserTokenVerifier(env: Env): UserTokenVerifier {
  // Imported once: given the raw secret, jose imports it again for every token.
  const secret = crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(env.AUTH_SECRET),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["verify"],
  );
  // A key published and used at once is fetched within seconds (jose waits 30 s between fetches by default).
  const jwks: JWTVerifyGetKey | null = env.AUTH_JWKS_URL
    ? createRemoteJWKSet(new URL(env.AUTH_JWKS_URL), { cooldownDuration: JWKS_COOLDOWN_MS })
    : null;
  const secretAccepted = guestTokensAccepted(env);
  const claims = {
    issuer: env.AUTH_ISSUER,
    audience: env.AUTH_AUDIENCE,
    requiredClaims: ["sub", "exp"],
    // An identity provider's clock a little ahead of this one's (nbf) is not the token's fault;
    // `exp` is held strictly all the same (checkLifetime).
    clockTolerance: CLOCK_TOLERANCE_SECONDS,
  };
  const cache = new Map<string, { identity: UserIdentity; expiresAt: number }>();

  async function verifyUncached(token: string) {
    const useSecret = !jwks || (secretAccepted && decodeProtectedHeader(token).alg === "HS256");
    const { payload } = useSecret
      ? await jwtVerify(token, await secret, { ...claims, algorithms: ALGORITHMS_SECRET })
      : await jwtVerify(token, jwks, { ...claims, algorithms: ALGORITHMS_JWKS });
    checkLifetime(payload, env.MAX_TOKEN_LIFETIME_SECONDS);
    const identity = identityFromClaims(payload);
    // Beside a JWKS, AUTH_SECRET signs the gateway's own guest sessions and nothing else:
    // a token it signs never names a user of the identity provider.
    if (jwks && useSecret && identity.type !== "guest") throw new TokenClaimError("type");
    return { identity, expiresAt: payload.exp! * 1000 };
  }

  return {
    async verify(token) {
      const cached = cache.get(token);
      if (cached && cached.expiresAt > Date.now()) return cached.identity;
      cache.delete(token);
      try {
        const verified = await verifyUncached(token);
        if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
        cache.set(token, verified);
        return verified.identity;
      } catch (error) {
        if (jwks && isKeySetOutage(error)) {
          // The token may well be good: a client told it is invalid would sign its user out.
          log.warn("the JWKS (AUTH_JWKS_URL) could not be read; tokens it signs cannot be checked", { error });
          throw new ChatSDKError(
            "offline:chat",
            "Sign-in tokens cannot be checked right now. Please try again in a few seconds.",
            { retryable: true },
          );
        }
        throw new ChatSDKError("unauthorized:chat", describeTokenError(error));
      }
    },
  };
}

/** Whether HS256 tokens signed with AUTH_SECRET (guest sessions among them) are accepted. */
export function guestTokensAccepted(env: Env): boolean {
  return !env.AUTH_JWKS_URL || !isDevelopmentSecret(env.AUTH_SECRET);
}

function checkLifetime(payload: { exp?: number; iat?: number }, maxSeconds: number): void {
  if (payload.exp! * 1000 <= Date.now()) throw new errors.JWTExpired("the token has expired", payload);
  const now = Math.floor(Date.now() / 1000);
  const issuedAt = typeof payload.iat === "number" ? Math.min(payload.iat, now) : now;
  if (payload.exp! - issuedAt > maxSeconds) throw new TokenLifetimeError(maxSeconds);
}

function identityFromClaims(payload: Record<string, unknown>): UserIdentity {
  const { sub, type, email } = payload;
  if (typeof sub !== "string" || sub.length === 0 || sub.length > 255 || !isStorable(sub)) {
    throw new TokenClaimError("sub");
  }
  if (type !== undefined && type !== "guest" && type !== "regular") throw new TokenClaimError("type");
  if (email !== undefined && email !== null && (typeof email !== "string" || !isStorable(email))) {
    throw new TokenClaimError("email");
  }
  return { id: sub, type: type === "guest" ? "guest" : "regular", email: (email as string | undefined) ?? null };
}

class TokenClaimError extends Error {
  constructor(claim: string) {
    super(`The token's "${claim}" claim is invalid.`);
  }
}

class TokenLifetimeError extends Error {
  constructor(maxSeconds: number) {
    super(`The token lives longer than the ${maxSeconds} seconds allowed: issue tokens that expire sooner.`);
  }
}

/**
 * The JWKS did not answer, or not with a key set: its fetch failed or timed
 * out, it answered other than 200, or with something not a key set. A key set
 * without the token's key (JWKSNoMatchingKey) is the token's fault.
 */
function isKeySetOutage(error: unknown): boolean {
  if (error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid) return true;
  if (error instanceof errors.JOSEError)
    return error.code === "ERR_JOSE_GENERIC" && /JSON Web Key Set/.test(error.message);
  // The key set's fetch threw (a refused connection, a reset, a name not found).
  return error instanceof TypeError && error.message === "fetch failed";
}

function describeTokenError(error: unknown): string {
  if (error instanceof TokenClaimError || error instanceof TokenLifetimeError) return error.message;
  if (error instanceof errors.JWTClaimValidationFailed && error.reason === "missing") {
    return `The token lacks the "${error.claim}" claim${error.claim === "exp" ? ": tokens must expire" : ""}.`;
  }
  if (error instanceof errors.JWTExpired) return "The token has expired.";
  if (error instanceof errors.JWTClaimValidationFailed) return `The token's "${error.claim}" claim is invalid.`;
  if (error instanceof errors.JOSEAlgNotAllowed) return "The token's algorithm is not allowed.";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "The token's signature is invalid.";
  return "The token is invalid.";
}

/** Signs a user token with AUTH_SECRET: guest sessions, and the dev script for regular users. */
export function signUserToken(
  env: Env,
  identity: { id: string; type: "guest" | "regular"; email?: string | null },
  ttlSeconds: number,
): Promise<string> {
  const jwt = new SignJWT({ type: identity.type, ...(identity.email ? { email: identity.email } : {}) })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setSubject(identity.id)
    .setIssuedAt()
    .setExpirationTime(`${ttlSeconds}s`);
  if (env.AUTH_ISSUER) jwt.setIssuer(env.AUTH_ISSUER);
  if (env.AUTH_AUDIENCE) jwt.setAudience(env.AUTH_AUDIENCE);
  return jwt.sign(new TextEncoder().encode(env.AUTH_SECRET));
}
