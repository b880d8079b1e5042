import type { User, UserType } from "../generated/prisma/client.ts";
import type { Sql } from "./client.ts";
import { dbCall, tracedDbCall, type Queryable } from "./queryable.ts";

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

/**
 * Inside a transaction: the user's row locked until commit. Every writer of a
 * user's messages takes it first (begin_turn and saveMessages, through
 * reserve_quota), so such writes queue: a turn's start then reads the
 * conversation as the writer before it left it.
 */
export async function lockUser(db: Queryable, userId: string): Promise<void> {
  await dbCall("lockUser", () => db.$queryRaw`SELECT 1 FROM "User" WHERE id = ${userId} FOR UPDATE`);
}
