import type { User, UserType } from "../generated/prisma/client.ts";
import { dbCall, type Queryable } from "./queryable.ts";

export interface UserIdentity {
  id: string;
  type: UserType;
  email: string | null;
}

/** Creates the user on first sight of a valid token; later tokens refresh type and email. */
export function ensureUser(db: Queryable, identity: UserIdentity): Promise<User> {
  return dbCall("ensureUser", () =>
    db.user.upsert({
      where: { id: identity.id },
      create: identity,
      update: { type: identity.type, email: identity.email },
    }),
  );
}
