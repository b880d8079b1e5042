import type { Caller } from "./auth/caller.ts";
import type { GuestSessionLimiter } from "./auth/guest-limit.ts";
import type { UserTokenVerifier } from "./auth/user-token.ts";
import type { PublicReaders } from "./schema/public-readers.ts";
import type { TurnRegistry } from "./turn/registry.ts";

/** Long-lived parts of the app that resolvers reach through the context. */
export interface Services {
  tokens: UserTokenVerifier;
  resolveCaller(request: Request): Promise<Caller>;
  turns: TurnRegistry;
  guestSessions: GuestSessionLimiter;
  /** resumeStream readers of public chats they do not own. */
  publicReaders: PublicReaders;
}
