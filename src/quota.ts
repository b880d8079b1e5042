import type { UserType } from "./generated/prisma/client.ts";
import type { Env } from "./config/env.ts";
import { ChatSDKError } from "./errors.ts";
import { getMessageCountByUserId } from "./db/messages.ts";
import type { Queryable } from "./db/queryable.ts";

/** User messages allowed per rolling 24 hours (the Chat SDK's entitlements). */
export function dailyMessageLimit(env: Env, type: UserType): number {
  return type === "guest" ? env.QUOTA_GUEST_PER_DAY : env.QUOTA_REGULAR_PER_DAY;
}

export async function messagesLeftToday(db: Queryable, env: Env, user: { id: string; type: UserType }) {
  const used = await getMessageCountByUserId(db, user.id, 24);
  return Math.max(0, dailyMessageLimit(env, user.type) - used);
}

/**
 * Inside a transaction: locks the user's row, so concurrent sends by one user
 * queue here, then refuses with `rate_limit:chat` unless `count` more user
 * messages fit. The caller inserts them in the same transaction.
 */
export async function reserveQuota(
  tx: Queryable,
  env: Env,
  user: { id: string; type: UserType },
  count: number,
): Promise<void> {
  if (count === 0) return;
  await tx.$queryRaw`SELECT id FROM "User" WHERE id = ${user.id} FOR UPDATE`;
  const left = await messagesLeftToday(tx, env, user);
  if (left < count) throw new ChatSDKError("rate_limit:chat");
}
