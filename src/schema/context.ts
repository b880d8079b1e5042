import type { Env } from "../config/env.ts";
import type { Database } from "../db/client.ts";
import { ChatSDKError } from "../errors.ts";
import type { User } from "../generated/prisma/client.ts";
import type { Services } from "../services.ts";

/** What every resolver sees: the app's services and the caller, if signed in. */
export interface Context {
  env: Env;
  db: Database;
  services: Services;
  request: Request;
  /** The client's address (see TRUST_PROXY), for per-client limits. */
  clientAddress: string;
  user: User | null;
  /** Why a presented token was refused; null when there was none or it was valid. */
  authError: ChatSDKError | null;
}

/**
 * The caller, or `unauthorized:chat` with the reason a token was refused.
 * The `signedIn` scope guards resolvers; subscribe functions rely on this.
 */
export function currentUser(ctx: Context): User {
  if (!ctx.user) throw ctx.authError ?? new ChatSDKError("unauthorized:chat");
  return ctx.user;
}
