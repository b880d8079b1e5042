import type { Chat, Message, MessageStatus, StreamStatus, Visibility } from "../generated/prisma/client.ts";
import type { Sql } from "./client.ts";

// The turn's own queries, in SQL on the driver: they sit on the first-delta
// path, where Prisma's per-query cost (about 0.5 ms, measured) would dominate.
// Timestamps travel as UTC ISO strings cast to `timestamp`, as Prisma stores them.

const CHAT = `id, "createdAt", title, "userId", visibility, "lastContext"`;
const MESSAGE = `id, "chatId", "userId", role, parts, attachments, status, "createdAt"`;

/**
 * Locks the user's row until commit, then counts their user messages since
 * `since` and tells whether `messageId` is already taken.
 */
export async function lockUserAndCountMessages(
  sql: Sql,
  userId: string,
  since: Date,
  messageId: string,
): Promise<{ used: number; messageIdTaken: boolean }> {
  await sql.query(`SELECT id FROM "User" WHERE id = $1 FOR UPDATE`, [userId]);
  // A statement of its own: under read committed, a statement sees what was
  // committed when it began, so the count must begin after the lock is held.
  const [row] = await sql.query<{ used: number; taken: boolean }>(
    `SELECT count(*)::int AS used, EXISTS (SELECT 1 FROM "Message" WHERE id = $3::uuid) AS taken
       FROM "Message" WHERE "userId" = $1 AND role = 'user' AND "createdAt" >= $2::timestamp`,
    [userId, since.toISOString(), messageId],
  );
  return { used: row.used, messageIdTaken: row.taken };
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

export async function latestMessageTime(sql: Sql, chatId: string): Promise<Date | null> {
  const [row] = await sql.query<{ latest: Date | null }>(
    `SELECT max("createdAt") AS latest FROM "Message" WHERE "chatId" = $1::uuid`,
    [chatId],
  );
  return row?.latest ?? null;
}

/**
 * Stores the turn's user message and its Stream row in one statement; null
 * (and no Stream row) when the message id is already taken.
 */
export async function insertUserMessageAndStream(
  sql: Sql,
  message: { id: string; chatId: string; userId: string; parts: unknown; createdAt: Date },
  streamId: string,
): Promise<Message | null> {
  const [row] = await sql.query<Message>(
    `WITH message AS (
       INSERT INTO "Message" (id, "chatId", "userId", role, parts, attachments, status, "createdAt")
       VALUES ($1::uuid, $2::uuid, $3, 'user', $4::jsonb, '[]'::jsonb, 'complete', $5::timestamp)
       ON CONFLICT (id) DO NOTHING RETURNING ${MESSAGE}
     ), stream AS (
       INSERT INTO "Stream" (id, "chatId", "createdAt", status)
       SELECT $6::uuid, "chatId", $5::timestamp, 'active' FROM message
     )
     SELECT * FROM message`,
    [message.id, message.chatId, message.userId, JSON.stringify(message.parts), message.createdAt.toISOString(), streamId],
  );
  return row ?? null;
}

/** Stores a message; null when its id is already taken. */
export async function insertMessage(
  sql: Sql,
  message: {
    id: string;
    chatId: string;
    userId: string;
    role: Message["role"];
    parts: unknown;
    status: MessageStatus;
    createdAt: Date;
  },
): Promise<Message | null> {
  const [row] = await sql.query<Message>(
    `INSERT INTO "Message" (id, "chatId", "userId", role, parts, attachments, status, "createdAt")
     VALUES ($1::uuid, $2::uuid, $3, $4::"MessageRole", $5::jsonb, '[]'::jsonb, $6::"MessageStatus", $7::timestamp)
     ON CONFLICT (id) DO NOTHING RETURNING ${MESSAGE}`,
    [
      message.id,
      message.chatId,
      message.userId,
      message.role,
      JSON.stringify(message.parts),
      message.status,
      message.createdAt.toISOString(),
    ],
  );
  return row ?? null;
}

export async function updateChatLastContext(sql: Sql, chatId: string, context: unknown): Promise<void> {
  await sql.query(`UPDATE "Chat" SET "lastContext" = $2::jsonb WHERE id = $1::uuid`, [
    chatId,
    context === null ? null : JSON.stringify(context),
  ]);
}

export async function updateStreamStatus(sql: Sql, id: string, status: StreamStatus): Promise<void> {
  await sql.query(`UPDATE "Stream" SET status = $2::"StreamStatus" WHERE id = $1::uuid`, [id, status]);
}

/** The next timestamp in a chat: now, or just after its latest message when that is later. */
export function nextMessageTime(latest: Date | null): Date {
  return new Date(Math.max(Date.now(), (latest?.getTime() ?? 0) + 1));
}
