-- The quota counts from a ledger that deletes do not touch: deleting chats or
-- messages (deleteChat, deleteTrailingMessages) must not give a user their
-- messages back. A trigger on Message writes it, so every writer of user
-- messages (begin_turn, saveMessages) records its use in the same statement.

-- CreateTable
CREATE TABLE "QuotaUse" (
    "userId" TEXT NOT NULL,
    "createdAt" TIMESTAMP(3) NOT NULL,
    "id" BIGSERIAL NOT NULL,

    CONSTRAINT "QuotaUse_pkey" PRIMARY KEY ("userId","createdAt","id")
);

-- CreateIndex
CREATE INDEX "QuotaUse_createdAt_idx" ON "QuotaUse"("createdAt");

-- Records a user message's use and prunes at most two uses past the ledger's
-- retention: each use is deleted once, a little at a time, so no send pays for
-- a sweep. The retention (48 hours) must cover the quota's window
-- (QUOTA_WINDOW_HOURS, 24); test/quota.test.ts checks that it does. SKIP LOCKED:
-- concurrent sends never wait on each other's pruning.
CREATE FUNCTION quota_use_record() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "QuotaUse" ("userId", "createdAt") VALUES (NEW."userId", NEW."createdAt");
  DELETE FROM "QuotaUse" WHERE ctid = ANY (ARRAY(
    SELECT ctid FROM "QuotaUse"
     WHERE "createdAt" < (now() AT TIME ZONE 'UTC') - interval '48 hours'
     ORDER BY "createdAt" LIMIT 2
       FOR UPDATE SKIP LOCKED));
  RETURN NULL;
END;
$$;

-- Created before the backfill: its lock holds off concurrent inserts until
-- commit, so no message is missed between the two.
CREATE TRIGGER "Message_quota_use"
AFTER INSERT ON "Message"
FOR EACH ROW WHEN (NEW.role = 'user')
EXECUTE FUNCTION quota_use_record();

INSERT INTO "QuotaUse" ("userId", "createdAt")
SELECT "userId", "createdAt" FROM "Message"
 WHERE role = 'user' AND "createdAt" >= (now() AT TIME ZONE 'UTC') - interval '48 hours';

-- The quota's measure, same signature as in 20261127160000, now read from the
-- ledger (begin_turn and the API both call it).
CREATE OR REPLACE FUNCTION user_message_count(p_user_id text, p_since timestamp, p_limit integer DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT count(*)::integer FROM (
    SELECT 1 FROM "QuotaUse"
     WHERE "userId" = p_user_id AND "createdAt" >= p_since
     LIMIT p_limit
  ) used);
END;
$$;

-- The quota's check for writers other than begin_turn (saveMessages): takes the
-- user's row lock, which every writer of a user's messages takes first and holds
-- until commit, then says whether p_count more user messages fit. VOLATILE: the
-- count after the lock takes a fresh snapshot, so it sees every committed send.
CREATE FUNCTION reserve_quota(p_user_id text, p_since timestamp, p_limit integer, p_count integer)
RETURNS boolean
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM 1 FROM "User" WHERE id = p_user_id FOR UPDATE;
  RETURN p_count = 0 OR user_message_count(p_user_id, p_since, p_limit) + p_count <= p_limit;
END;
$$;

-- The quota no longer reads Message by user.
-- DropIndex
DROP INDEX "Message_userId_role_createdAt_idx";
