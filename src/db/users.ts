import type { User, UserType } from "../generated/prisma/client.ts";
import type { Sql } from "./client.ts";
import { tracedDbCall } from "./queryable.ts";

export interface UserIdentity {
  id: string;
  type: UserType;
  email: string | null;
}

/**
 * Creates the user on first sight of a valid token; later tokens refresh type
 * and email. SQL on the driver, not Prisma: it runs on the first request of
 * every user an instance sees, a new user's first turn among them, where
 * Prisma's upsert cost five times the CPU (BENCHMARKS.md, "What was tried").
 * `createdAt` is set here in UTC, as Prisma stores it.
 */
export async function ensureUser(sql: Sql, identity: UserIdentity): Promise<User> {
  return tracedDbCall("ensureUser", async () => {
    const [user] = await sql.query<User>(
      `INSERT INTO "User" (id, email, type, "createdAt") VALUES ($1, $2, $3::"UserType", $4::timestamp)
       ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, type = EXCLUDED.type
       RETURNING id, email, type, "createdAt"`,
      [identity.id, identity.email, identity.type, new Date().toISOString()],
    );
    return user;
  });
}
