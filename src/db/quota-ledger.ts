import { dbCall, type Queryable } from "./queryable.ts";

// The quota's measure and check live in the database (the 20261203100000_quota_ledger
// migration): user_message_count reads the QuotaUse ledger, which a trigger on
// Message writes and no delete touches; begin_turn counts with it too.
// Timestamps are stored as UTC in `timestamp` columns: bounds travel as UTC text.

/**
 * User messages the user sent since `since` (the quota's measure), counted no
 * further than `upTo` when given. Deleted messages still count.
 */
export async function getMessageCountByUserId(
  db: Queryable,
  userId: string,
  since: Date,
  upTo: number | null = null,
): Promise<number> {
  const [row] = await dbCall(
    "getMessageCountByUserId",
    () =>
      db.$queryRaw<
        { count: number }[]
      >`SELECT user_message_count(${userId}, ${since.toISOString()}::timestamp, ${upTo}::integer) AS count`,
  );
  return row.count;
}

/**
 * Inside a transaction: takes the user's row lock, held until commit (every
 * writer of a user's messages takes it first, so one user's writes queue
 * there), and says whether `count` more user messages fit in `limit` since
 * `since`. The caller inserts them in the same transaction.
 */
export async function reserveQuota(
  tx: Queryable,
  args: { userId: string; since: Date; limit: number; count: number },
): Promise<boolean> {
  const [row] = await dbCall(
    "reserveQuota",
    () =>
      tx.$queryRaw<
        { fits: boolean }[]
      >`SELECT reserve_quota(${args.userId}, ${args.since.toISOString()}::timestamp, ${args.limit}::integer, ${args.count}::integer) AS fits`,
  );
  return row.fits;
}
