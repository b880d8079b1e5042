import type { Env } from "../config/env.ts";
import type { Database } from "../db/client.ts";
import type { ChatSDKError } from "../errors.ts";
import type { User } from "../generated/prisma/client.ts";
import type { Services } from "../services.ts";

/** What every resolver sees: the app's services and the caller, if signed in. */
export interface Context {
  env: Env;
  db: Database;
  services: Services;
  request: Request;
  user: User | null;
  /** Why a presented token was refused; null when there was none or it was valid. */
  authError: ChatSDKError | null;
}

/** The caller of a field guarded by the `signedIn` scope. */
export function currentUser(ctx: Context): User {
  if (!ctx.user) throw new Error("currentUser called on a field without the signedIn scope");
  return ctx.user;
}
