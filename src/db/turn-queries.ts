import type { Chat, Message, MessageStatus, StreamStatus, Visibility } from "../generated/prisma/client.ts";
import type { Sql } from "./client.ts";

// The turn's own queries, in SQL on the driver: they sit on the first-delta
// path, where Prisma's per-query cost (about 0.5 ms, measured) would dominate.
// Timestamps travel as UTC ISO strings cast to `timestamp`, as Prisma stores them.

const CHAT = `id, "createdAt", title, "userId", visibility, "lastContext"`;
const MESSAGE = `id, "chatId", "userId", role, parts, attachments, status, "createdAt"`;

/** What a turn's checks need, read in one statement once the user's row is locked. */
export interface TurnState {
  /** User messages of the user since `since`. */
  used: number;
  messageIdTaken: boolean;
  chat: Chat | null;
  /** The chat's messages, oldest first. */
  messages: Message[];
}

/**
 * Locks the user's row until commit, then reads the quota count, whether the
 * message id is taken, the chat and its messages. Writers that could change
 * these take the user's lock first (sends, saveMessages), except a finishing
 * turn of the same chat, whose answer may then be missed by this one's history.
 */
export async function lockUserAndReadTurnState(
  sql: Sql,
  args: { userId: string; since: Date; messageId: string; chatId: string },
): Promise<TurnState> {
  await sql.query(`SELECT id FROM "User" WHERE id = $1 FOR UPDATE`, [args.userId]);
  // A statement of its own: under read committed, a statement sees what was
  // committed when it began, so the reads must begin after the lock is held.
  const [row] = await sql.query<{
    used: number;
    taken: boolean;
    chat: JsonRow<Chat> | null;
    messages: JsonRow<Message>[];
  }>(
    `SELECT
       (SELECT count(*)::int FROM "Message"
         WHERE "userId" = $1 AND role = 'user' AND "createdAt" >= $2::timestamp) AS used,
       EXISTS (SELECT 1 FROM "Message" WHERE id = $3::uuid) AS taken,
       (SELECT row_to_json(c) FROM (SELECT ${CHAT} FROM "Chat" WHERE id = $4::uuid) c) AS chat,
       (SELECT coalesce(json_agg(m ORDER BY m."createdAt", m.id), '[]'::json)
          FROM (SELECT ${MESSAGE} FROM "Message" WHERE "chatId" = $4::uuid) m) AS messages`,
    [args.userId, args.since.toISOString(), args.messageId, args.chatId],
  );
  return {
    used: row.used,
    messageIdTaken: row.taken,
    chat: row.chat && withDate(row.chat),
    messages: row.messages.map(withDate),
  };
}

// Rows read through JSON carry `timestamp` columns as ISO text without a zone (UTC here).
type JsonRow<T extends { createdAt: Date }> = Omit<T, "createdAt"> & { createdAt: string };

function withDate<T extends { createdAt: Date }>(row: JsonRow<T>): T {
  return { ...row, createdAt: new Date(`${row.createdAt}Z`) } as T;
}

/** The chat with its row locked until commit, or null. */
export async function lockChat(sql: Sql, id: string): Promise<Chat | null> {
  const [chat] = await sql.query<Chat>(`SELECT ${CHAT} FROM "Chat" WHERE id = $1::uuid FOR UPDATE`, [id]);
  return chat ?? null;
}

/** Creates the chat; null when the id was taken meanwhile (the insert waits for that writer to finish). */
export async function insertChatIfAbsent(
  sql: Sql,
  chat: { id: string; userId: string; title: string; visibility: Visibility },
): Promise<Chat | null> {
  const [row] = await sql.query<Chat>(
    `INSERT INTO "Chat" (id, "userId", title, visibility, "createdAt")
     VALUES ($1::uuid, $2, $3, $4::"Visibility", $5::timestamp)
     ON CONFLICT (id) DO NOTHING RETURNING ${CHAT}`,
    [chat.id, chat.userId, chat.title, chat.visibility, new Date().toISOString()],
  );
  return row ?? null;
}

export function selectMessagesByChatId(sql: Sql, chatId: string): Promise<Message[]> {
  return sql.query<Message>(`SELECT ${MESSAGE} FROM "Message" WHERE "chatId" = $1::uuid ORDER BY "createdAt", id`, [
    chatId,
  ]);
}

/**
 * Stores the turn's user message, timestamped after every message of its chat,
 * and its Stream row in one statement; null (and no Stream row) when the
 * message id is already taken.
 */
export async function insertUserMessageAndStream(
  sql: Sql,
  message: { id: string; chatId: string; userId: string; parts: unknown; createdAt: Date },
  streamId: string,
): Promise<Message | null> {
  const [row] = await sql.query<Message>(
    `WITH message AS (
       INSERT INTO "Message" (id, "chatId", "userId", role, parts, attachments, status, "createdAt")
       SELECT $1::uuid, $2::uuid, $3, 'user', $4::jsonb, '[]'::jsonb, 'complete',
              GREATEST($5::timestamp, (SELECT max("createdAt") + interval '1 millisecond' FROM "Message" WHERE "chatId" = $2::uuid))
       ON CONFLICT (id) DO NOTHING RETURNING ${MESSAGE}
     ), stream AS (
       INSERT INTO "Stream" (id, "chatId", "createdAt", status)
       SELECT $6::uuid, "chatId", "createdAt", 'active' FROM message
     )
     SELECT * FROM message`,
    [message.id, message.chatId, message.userId, JSON.stringify(message.parts), message.createdAt.toISOString(), streamId],
  );
  return row ?? null;
}

export async function updateStreamStatus(sql: Sql, id: string, status: StreamStatus): Promise<void> {
  await sql.query(`UPDATE "Stream" SET status = $2::"StreamStatus" WHERE id = $1::uuid`, [id, status]);
}

/**
 * Step 5 of a turn as one statement (so atomic without a transaction): the
 * assistant message when `message` is given, timestamped after every message
 * of its chat; the chat's lastContext when `context` is given; the Stream
 * row's status. Returns the stored message, or null when none was stored or
 * the chat is gone.
 */
export async function storeTurnOutcome(
  sql: Sql,
  outcome: {
    chatId: string;
    streamId: string;
    streamStatus: StreamStatus;
    message: { id: string; userId: string; parts: unknown; status: MessageStatus } | null;
    context: { value: unknown } | null;
  },
): Promise<Message | null> {
  const { message, context } = outcome;
  const [row] = await sql.query<Message>(
    `WITH message AS (
       INSERT INTO "Message" (id, "chatId", "userId", role, parts, attachments, status, "createdAt")
       SELECT $1::uuid, chat.id, $3, 'assistant', $4::jsonb, '[]'::jsonb, $5::"MessageStatus",
              GREATEST($6::timestamp, (SELECT max(m."createdAt") + interval '1 millisecond'
                                         FROM "Message" m WHERE m."chatId" = chat.id))
         FROM "Chat" chat WHERE chat.id = $2::uuid AND $7::boolean
       RETURNING ${MESSAGE}
     ), context AS (
       UPDATE "Chat" SET "lastContext" = $8::jsonb WHERE id = $2::uuid AND $9::boolean
     ), stream AS (
       UPDATE "Stream" SET status = $10::"StreamStatus" WHERE id = $11::uuid
     )
     SELECT * FROM message`,
    [
      message?.id ?? null,
      outcome.chatId,
      message?.userId ?? null,
      message ? JSON.stringify(message.parts) : null,
      message?.status ?? "complete",
      new Date().toISOString(),
      message !== null,
      context?.value == null ? null : JSON.stringify(context.value),
      context !== null,
      outcome.streamStatus,
      outcome.streamId,
    ],
  );
  return row ?? null;
}
