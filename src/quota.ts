import type { UserType } from "./generated/prisma/client.ts";
import type { Env } from "./config/env.ts";
import { getMessageCountByUserId, reserveQuota } from "./db/quota-ledger.ts";
import type { Queryable } from "./db/queryable.ts";

/** The quota's rolling window. */
export const QUOTA_WINDOW_HOURS = 24;

/** User messages allowed per rolling 24 hours (the Chat SDK's entitlements). */
export function dailyMessageLimit(env: Env, type: UserType): number {
  return type === "guest" ? env.QUOTA_GUEST_PER_DAY : env.QUOTA_REGULAR_PER_DAY;
}

/** Where the rolling window starts now. */
export function quotaWindowStart(now = Date.now()): Date {
  return new Date(now - QUOTA_WINDOW_HOURS * 60 * 60 * 1000);
}

export async function messagesLeftToday(db: Queryable, env: Env, user: { id: string; type: UserType }) {
  const limit = dailyMessageLimit(env, user.type);
  const used = await getMessageCountByUserId(db, user.id, quotaWindowStart(), limit);
  return Math.max(0, limit - used);
}

/**
 * Inside a transaction: locks the user until commit (before any chat lock: a
 * fixed order keeps transactions from deadlocking) and says whether `count`
 * more user messages fit the quota, so the caller can insert them in the same
 * transaction without a concurrent send slipping past the count.
 */
export function userMessagesFit(
  tx: Queryable,
  env: Env,
  user: { id: string; type: UserType },
  count: number,
): Promise<boolean> {
  return reserveQuota(tx, {
    userId: user.id,
    since: quotaWindowStart(),
    limit: dailyMessageLimit(env, user.type),
    count,
  });
}
