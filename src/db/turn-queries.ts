import type { Chat, Message, MessageStatus, StreamStatus, Visibility } from "../generated/prisma/client.ts";
import type { Sql } from "./client.ts";
import { NOW, TURN_USER_MESSAGE } from "./turn-lease.ts";

// The turn's own queries, in SQL on the driver: they sit on the first-delta
// path, where Prisma's per-query cost would dominate (BENCHMARKS.md, "What was tried").
// Timestamps travel as UTC ISO strings cast to `timestamp`, as Prisma stores them.

const MESSAGE = `id, "chatId", "userId", role, parts, attachments, status, "createdAt"`;

export type BeginTurnResult =
  | { refusal: "quota" | "message-id-taken" | "chat-id-taken" | "forbidden" }
  | {
      refusal: null;
      /** The chat, owned by the user; created by this call when it was new. */
      chat: Chat;
      /** The chat's messages before the new one, oldest first. */
      existing: Message[];
      /** The stored user message. */
      message: Message;
    };

/**
 * Step 1 of a turn in one round trip (the begin_turn function of the
 * 20261127120000_begin_turn migration, counting the quota with
 * user_message_count since 20261127160000, and since 20261203120000_durable_turns
 * storing the STREAMING assistant message and the owner lease): under the user's
 * row lock, checks the quota and that the message ids are free, gets the chat
 * (created with `title` and `visibility` when new) and checks its owner, reads
 * its messages, and stores the user message, timestamped after every message
 * of the chat, the assistant message (STREAMING, no parts) just after it, and
 * an active Stream row owned by `ownerId`. Atomic: a refusal or a failure
 * writes nothing.
 */
export async function beginTurn(
  sql: Sql,
  args: {
    userId: string;
    quotaSince: Date;
    quotaLimit: number;
    chatId: string;
    title: string;
    visibility: Visibility;
    messageId: string;
    parts: unknown;
    streamId: string;
    now: Date;
    assistantMessageId: string;
    ownerId: string;
  },
): Promise<BeginTurnResult> {
  const [row] = await sql.query<{ result: BeginTurnJson }>(
    `SELECT begin_turn($1, $2::timestamp, $3::int, $4::uuid, $5, $6::"Visibility", $7::uuid, $8::jsonb, $9::uuid, $10::timestamp, $11::uuid, $12) AS result`,
    [
      args.userId,
      args.quotaSince.toISOString(),
      args.quotaLimit,
      args.chatId,
      args.title,
      args.visibility,
      args.messageId,
      JSON.stringify(args.parts),
      args.streamId,
      args.now.toISOString(),
      args.assistantMessageId,
      args.ownerId,
    ],
  );
  const { result } = row;
  if (result.refusal) return { refusal: result.refusal };
  return {
    refusal: null,
    chat: withDate(result.chat),
    existing: result.existing.map(withDate),
    message: withDate(result.message),
  };
}

type BeginTurnJson =
  | { refusal: "quota" | "message-id-taken" | "forbidden" }
  | { refusal?: undefined; chat: JsonRow<Chat>; existing: JsonRow<Message>[]; message: JsonRow<Message> };

// Rows read through JSON carry `timestamp` columns as ISO text without a zone (UTC here).
type JsonRow<T extends { createdAt: Date }> = Omit<T, "createdAt"> & { createdAt: string };

function withDate<T extends { createdAt: Date }>(row: JsonRow<T>): T {
  return { ...row, createdAt: new Date(`${row.createdAt}Z`) } as T;
}

/** Forgets a turn whose messages were deleted while it ran: resumeStream no longer finds it. */
export async function deleteStream(sql: Sql, id: string): Promise<void> {
  await sql.query(`DELETE FROM "Stream" WHERE id = $1::uuid`, [id]);
}

export async function updateStreamStatus(sql: Sql, id: string, status: StreamStatus): Promise<void> {
  await sql.query(`UPDATE "Stream" SET status = $2::"StreamStatus" WHERE id = $1::uuid`, [id, status]);
}

/**
 * Step 5 of a turn as one statement (so atomic without a transaction): the
 * assistant message `messageId` with `message`'s parts and status (in place of
 * the STREAMING row, keeping its time), or, when `message` is null, the
 * STREAMING row removed; the chat's lastContext when `context` is given (and
 * the turn's answer was not deleted meanwhile: its usage is no one's then; nor
 * is a later turn's usage stored already, another tab's: lastContext is the usage
 * of the latest turn that reported one, whichever stores last); the
 * Stream row's status. A row that is gone (its chat deleted, or the
 * conversation edited back past it while the turn ran) stays gone: the answer
 * is not brought back. Returns the stored message, or null when none was stored.
 */
export async function storeTurnOutcome(
  sql: Sql,
  outcome: {
    chatId: string;
    streamId: string;
    streamStatus: StreamStatus;
    messageId: string;
    message: { parts: unknown; status: MessageStatus } | null;
    context: { value: unknown } | null;
    /** Recovery's store: a message no longer STREAMING (stored by its owner after all) is left as it is. */
    onlyStreaming?: boolean;
  },
): Promise<Message | null> {
  const { message, context } = outcome;
  const [row] = await sql.query<Message>(
    `WITH message AS (
       UPDATE "Message" SET parts = $3::jsonb, status = $4::"MessageStatus"
        WHERE id = $1::uuid AND "chatId" = $2::uuid AND $5::boolean AND (NOT $10::boolean OR status = 'streaming')
       RETURNING ${MESSAGE}
     ), dropped AS (
       DELETE FROM "Message" WHERE id = $1::uuid AND NOT $5::boolean AND status = 'streaming'
     ), context AS (
       UPDATE "Chat" AS c SET "lastContext" = $6::jsonb, "lastContextAt" = turn.at
         FROM (SELECT "createdAt" AS at FROM "Stream" WHERE id = $9::uuid) turn
        WHERE c.id = $2::uuid AND $7::boolean
          AND EXISTS (SELECT 1 FROM "Message" WHERE id = $1::uuid)
          AND (c."lastContextAt" IS NULL OR c."lastContextAt" <= turn.at)
     ), stream AS (
       UPDATE "Stream" SET status = $8::"StreamStatus" WHERE id = $9::uuid
     )
     SELECT * FROM message`,
    [
      outcome.messageId,
      outcome.chatId,
      message ? JSON.stringify(message.parts) : null,
      message?.status ?? "complete",
      message !== null,
      context?.value == null ? null : JSON.stringify(context.value),
      context !== null,
      outcome.streamStatus,
      outcome.streamId,
      outcome.onlyStreaming === true,
    ],
  );
  return row ?? null;
}

/**
 * The partial answers so far into their turns' STREAMING rows, in one
 * statement, so a restart can store them (the embedded mode's recovery); a
 * no-op for a turn already stored. Returns the ids of the rows that are gone
 * (deleted with their chat, or by an edit of the conversation).
 */
export async function checkpointParts(sql: Sql, rows: { id: string; parts: unknown }[]): Promise<string[]> {
  if (rows.length === 0) return [];
  const gone = await sql.query<{ id: string }>(
    `WITH v AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, parts jsonb)),
     written AS (
       UPDATE "Message" AS m SET parts = v.parts FROM v WHERE m.id = v.id AND m.status = 'streaming'
     )
     SELECT v.id FROM v WHERE NOT EXISTS (SELECT 1 FROM "Message" m WHERE m.id = v.id)`,
    [JSON.stringify(rows)],
  );
  return gone.map((row) => row.id);
}

/** A turn that is no longer running, as stored: its Stream status, assistant message and the chat's last usage. */
export interface EndedTurn {
  id: string;
  status: Exclude<StreamStatus, "active">;
  chatId: string;
  assistantMessageId: string | null;
  userMessageId: string | null;
  message: Message | null;
  /** Its usage, when the chat's lastContext holds this turn's (or a chat from before lastContextAt: whatever it holds). */
  usage: unknown;
  /** Its owner renewed its heartbeat within the lease: it still holds the turn's end for the log (renewLeases). */
  relaying: boolean;
}

/** Of the turns `ids`, those whose Stream row is no longer active; `leaseSeconds` judges `relaying`. */
export async function endedTurns(sql: Sql, ids: string[], leaseSeconds: number): Promise<EndedTurn[]> {
  if (ids.length === 0) return [];
  const rows = await sql.query<Omit<EndedTurn, "message"> & { message: JsonRow<Message> | null }>(
    `SELECT s.id, s.status, s."chatId", s."assistantMessageId", ${TURN_USER_MESSAGE} AS "userMessageId",
            CASE WHEN c."lastContextAt" IS NULL OR c."lastContextAt" = s."createdAt" THEN c."lastContext" END AS usage,
            COALESCE(s."heartbeatAt" > ${NOW} - $2::float8 * interval '1 second', false) AS relaying,
            (SELECT row_to_json(m) FROM (SELECT ${MESSAGE} FROM "Message" WHERE id = s."assistantMessageId") m) AS message
       FROM "Stream" s JOIN "Chat" c ON c.id = s."chatId"
      WHERE s.id = ANY($1::uuid[]) AND s.status <> 'active'`,
    [ids, leaseSeconds],
  );
  return rows.map((row) => ({ ...row, message: row.message && withDate(row.message) }));
}
