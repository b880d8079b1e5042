import type { Database } from "../db/client.ts";
import { ensureUser } from "../db/users.ts";
import { type ChatSDKError, isChatSDKError } from "../errors.ts";
import type { User } from "../generated/prisma/client.ts";
import { bearerToken } from "./bearer.ts";
import type { UserTokenVerifier } from "./user-token.ts";

export interface Caller {
  user: User | null;
  authError: ChatSDKError | null;
}

/**
 * Who is calling: the user of a valid bearer token (created on first sight),
 * nobody without a token, or the reason a presented token was refused.
 * Refusal is left to the fields that need a user, so createGuestSession still
 * works for a caller holding an expired token.
 */
export function createCallerResolver(db: Database, tokens: UserTokenVerifier) {
  // Users already stored with this type and email: skips a write per request.
  const seen = new Map<string, User>();

  return async function resolveCaller(request: Request): Promise<Caller> {
    try {
      const token = bearerToken(request.headers.get("authorization"));
      if (!token) return { user: null, authError: null };
      const identity = await tokens.verify(token);
      const known = seen.get(identity.id);
      if (known && known.type === identity.type && known.email === identity.email) {
        return { user: known, authError: null };
      }
      const user = await ensureUser(db.sql, identity);
      if (seen.size > 50_000) seen.clear();
      seen.set(user.id, user);
      return { user, authError: null };
    } catch (error) {
      if (isChatSDKError(error) && error.code === "unauthorized:chat") return { user: null, authError: error };
      throw error;
    }
  };
}
