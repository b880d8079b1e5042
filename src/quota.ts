import type { UserType } from "./generated/prisma/client.ts";
import type { Env } from "./config/env.ts";
import { ChatSDKError } from "./errors.ts";
import { getMessageCountByUserId } from "./db/messages.ts";
import type { Queryable } from "./db/queryable.ts";

/** The quota's rolling window. */
export const QUOTA_WINDOW_HOURS = 24;

/** User messages allowed per rolling 24 hours (the Chat SDK's entitlements). */
export function dailyMessageLimit(env: Env, type: UserType): number {
  return type === "guest" ? env.QUOTA_GUEST_PER_DAY : env.QUOTA_REGULAR_PER_DAY;
}

export async function messagesLeftToday(db: Queryable, env: Env, user: { id: string; type: UserType }) {
  const limit = dailyMessageLimit(env, user.type);
  const used = await getMessageCountByUserId(db, user.id, QUOTA_WINDOW_HOURS, limit);
  return Math.max(0, limit - used);
}

/**
 * Inside a transaction: locks the user's row until commit, so one user's
 * concurrent writes queue here. Take it before any chat lock (a fixed order
 * keeps transactions from deadlocking).
 */
export async function lockUser(tx: Queryable, userId: string): Promise<void> {
  await tx.$queryRaw`SELECT id FROM "User" WHERE id = ${userId} FOR UPDATE`;
}

/**
 * Inside a transaction: refuses with `rate_limit:chat` unless `count` more
 * user messages fit, holding the user's lock so the caller can insert them in
 * the same transaction without a concurrent send slipping past the count.
 */
export async function reserveQuota(
  tx: Queryable,
  env: Env,
  user: { id: string; type: UserType },
  count: number,
): Promise<void> {
  if (count === 0) return;
  await lockUser(tx, user.id);
  const left = await messagesLeftToday(tx, env, user);
  if (left < count) throw new ChatSDKError("rate_limit:chat");
}
