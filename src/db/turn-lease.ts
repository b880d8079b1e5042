import type { Sql } from "./client.ts";

// The owner lease on a running turn's Stream row, timed by the database's clock
// so instances with skewed clocks agree on who has lapsed.
export const NOW = `(clock_timestamp() AT TIME ZONE 'UTC')`;

/** The user message of the turn whose Stream row is `s`: the chat's last user message up to its assistant message. */
export const TURN_USER_MESSAGE = `(SELECT u.id FROM "Message" u
         WHERE u."chatId" = s."chatId" AND u.role = 'user'
           AND u."createdAt" <= COALESCE((SELECT a."createdAt" FROM "Message" a WHERE a.id = s."assistantMessageId"), 'infinity')
         ORDER BY u."createdAt" DESC, u.id DESC LIMIT 1)`;

/** A stop asked for on another instance (see `requestStops`), read back by the turn's owner. */
export interface StopRequest {
  id: string;
  reason: string;
}

/**
 * Renews the lease of the turns this instance runs, in one statement, and
 * returns the stops asked for them since (`requestStops`). `relaying`: ended
 * turns whose end this instance still holds for the shared log (Redis did not
 * take it): their heartbeat tells other instances not to write an end of their
 * own (settle-reads.ts).
 */
export async function renewLeases(sql: Sql, streamIds: string[], relaying: string[] = []): Promise<StopRequest[]> {
  if (streamIds.length === 0 && relaying.length === 0) return [];
  return sql.query<StopRequest>(
    `WITH renewed AS (
       UPDATE "Stream" SET "heartbeatAt" = ${NOW}
        WHERE (id = ANY($1::uuid[]) AND status = 'active') OR id = ANY($2::uuid[])
       RETURNING id, status, "stopRequested"
     )
     SELECT id, "stopRequested" AS reason FROM renewed WHERE "stopRequested" IS NOT NULL AND status = 'active'`,
    [streamIds, relaying],
  );
}

/** Asks the owners of the active turns `streamIds` to stop them; each owner reads it when it next renews its lease. */
export async function requestStops(sql: Sql, streamIds: string[], reason: string): Promise<void> {
  await sql.query(`UPDATE "Stream" SET "stopRequested" = $2 WHERE id = ANY($1::uuid[]) AND status = 'active'`, [
    streamIds,
    reason,
  ]);
}

/** An active turn whose owner stopped renewing its lease, now held by the claimer. */
export interface LapsedTurn {
  id: string;
  chatId: string;
  assistantMessageId: string | null;
  /** The turn's user message: the chat's last user message up to its assistant message. */
  userMessageId: string | null;
  /** The chat's owner, who the assistant message belongs to. */
  userId: string | null;
  /** When the turn began. */
  createdAt: Date;
  /** The STREAMING row's parts: the last checkpoint of the partial answer. */
  checkpoint: unknown;
  /** False when the assistant message is gone: its user deleted it (its chat, or an edit past it). */
  answerExists: boolean;
}

/**
 * Takes over active turns whose lease is older than `lapsedSeconds` (among
 * `only` when given), except `running` (this instance's own). Atomic per row
 * (locked, skipped when another instance holds it), so each lapsed turn goes
 * to exactly one claimer.
 */
export async function claimLapsedTurns(
  sql: Sql,
  {
    ownerId,
    lapsedSeconds,
    running,
    only = null,
  }: { ownerId: string; lapsedSeconds: number; running: string[]; only?: string[] | null },
): Promise<LapsedTurn[]> {
  return sql.query<LapsedTurn>(
    `WITH lapsed AS (
       SELECT id FROM "Stream"
        WHERE status = 'active'
          AND ("heartbeatAt" IS NULL OR "heartbeatAt" <= ${NOW} - $2::float8 * interval '1 second')
          AND NOT (id = ANY($3::uuid[]))
          AND ($4::uuid[] IS NULL OR id = ANY($4::uuid[]))
        ORDER BY "heartbeatAt" NULLS FIRST
        LIMIT 50
        FOR UPDATE SKIP LOCKED
     )
     UPDATE "Stream" s SET "ownerId" = $1, "heartbeatAt" = ${NOW}
       FROM lapsed WHERE s.id = lapsed.id
     RETURNING s.id, s."chatId", s."assistantMessageId", s."createdAt",
       ${TURN_USER_MESSAGE} AS "userMessageId",
       (SELECT c."userId" FROM "Chat" c WHERE c.id = s."chatId") AS "userId",
       (SELECT m.parts FROM "Message" m WHERE m.id = s."assistantMessageId" AND m.status = 'streaming') AS checkpoint,
       EXISTS (SELECT 1 FROM "Message" m WHERE m.id = s."assistantMessageId") AS "answerExists"`,
    [ownerId, lapsedSeconds, running, only],
  );
}
