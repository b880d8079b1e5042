import { createHmac, randomUUID } from "node:crypto";
import { jwtVerify, SignJWT } from "jose";

// The token a PUT on /graphql/stream hands out is signed rather than stored,
// so that whichever instance the GET and the POSTs reach can accept it without
// asking the one that minted it. Its key is derived from AUTH_SECRET for this
// purpose alone: a stream token is never a user token, nor the reverse.
const PURPOSE = "chat-gateway graphql-sse event stream token";
const AUDIENCE = "chat-gateway:event-stream";
// No reservation minted here ends further ahead (use-single-connection.ts: 30 s),
// however much the instances' clocks differ: a token claiming more was not minted here.
const MAX_RESERVATION_AHEAD_MS = 5 * 60_000;

export interface StreamToken {
  /** The event stream's id. */
  id: string;
  /** The user who reserved it ("" when nobody signed in): its GET and POSTs must come from them. */
  userId: string;
  /** Until when (ms since the epoch) the stream may be opened (GET) and sent operations before that. */
  reservedUntil: number;
}

export interface StreamTokens {
  mint(userId: string, reservationMs: number): Promise<{ token: string; claims: StreamToken }>;
  /** The claims of a token this deployment minted; null for anything else. */
  verify(token: string): Promise<StreamToken | null>;
}

export function createStreamTokens(authSecret: string): StreamTokens {
  const key = new Uint8Array(createHmac("sha256", authSecret).update(PURPOSE).digest());
  return {
    async mint(userId, reservationMs) {
      const claims = { id: randomUUID(), userId, reservedUntil: Date.now() + reservationMs };
      const token = await new SignJWT({ rsv: claims.reservedUntil })
        .setProtectedHeader({ alg: "HS256" })
        .setJti(claims.id)
        .setSubject(userId)
        .setAudience(AUDIENCE)
        .sign(key);
      return { token, claims };
    },
    async verify(token) {
      if (token.length > 1_024) return null;
      try {
        const { payload } = await jwtVerify(token, key, { audience: AUDIENCE, algorithms: ["HS256"] });
        if (typeof payload.jti !== "string" || typeof payload.sub !== "string" || typeof payload["rsv"] !== "number")
          return null;
        if (payload["rsv"] - Date.now() > MAX_RESERVATION_AHEAD_MS) return null;
        return { id: payload.jti, userId: payload.sub, reservedUntil: payload["rsv"] };
      } catch {
        return null;
      }
    },
  };
}
