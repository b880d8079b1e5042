import type { Message, MessageRole, MessageStatus, Prisma, PrismaClient } from "../generated/prisma/client.ts";
import { lockChatById } from "./chats.ts";
import { lockUser } from "./users.ts";
import type { Cursor } from "./cursor.ts";
import { dbCall, inTransaction, type Queryable } from "./queryable.ts";

export interface NewMessage {
  id: string;
  chatId: string;
  userId: string;
  role: MessageRole;
  parts: Prisma.InputJsonValue;
  attachments?: Prisma.InputJsonValue;
  status?: MessageStatus;
  createdAt?: Date;
}

/**
 * One page of messages for each of `chatIds` in one query: per chat, its first
 * `limit` messages after `after`, oldest first. Chats without any are absent.
 */
export async function getMessagePagesByChatIds(
  db: Queryable,
  args: { chatIds: string[]; limit: number; after?: Cursor | null },
): Promise<Map<string, Message[]>> {
  const at = args.after?.createdAt.toISOString() ?? null;
  const id = args.after?.id ?? null;
  const rows = await dbCall(
    "getMessagePagesByChatIds",
    () =>
      db.$queryRaw<Message[]>`
      SELECT m.* FROM unnest(${args.chatIds}::uuid[]) AS chat(id)
      CROSS JOIN LATERAL (
        SELECT id, "chatId", "userId", role, parts, attachments, status, "createdAt" FROM "Message"
         WHERE "chatId" = chat.id AND (${at}::timestamp IS NULL OR ("createdAt", id) > (${at}::timestamp, ${id}::uuid))
         ORDER BY "createdAt", id
         LIMIT ${args.limit}
      ) m`,
  );
  const pages = new Map<string, Message[]>();
  for (const row of rows) {
    const page = pages.get(row.chatId);
    if (page) page.push(row);
    else pages.set(row.chatId, [row]);
  }
  return pages;
}

export function getMessageById(db: Queryable, id: string): Promise<Message | null> {
  return dbCall("getMessageById", () => db.message.findUnique({ where: { id } }));
}

/**
 * Inserts messages in one statement. Each message gets a timestamp after every
 * message already in its chat (and after the one before it in the batch), so
 * the order messages were saved in is the order they are read back in. Call it
 * in a transaction: the chat's row is locked so concurrent saves take turns.
 */
export async function saveMessages(db: Queryable, messages: NewMessage[]): Promise<Message[]> {
  const next = new Map<string, number>();
  for (const chatId of new Set(messages.map((m) => m.chatId))) {
    await lockChatById(db, chatId);
    const [{ at }] = await dbCall(
      "saveMessages",
      () =>
        db.$queryRaw<{ at: string }[]>`
          SELECT next_message_time(${chatId}::uuid, ${new Date().toISOString()}::timestamp)::text AS at`,
    );
    next.set(chatId, Date.parse(`${at.replace(" ", "T")}Z`));
  }
  const rows = messages.map((message) => {
    const at = next.get(message.chatId)!;
    next.set(message.chatId, at + 1);
    return { attachments: [], ...message, createdAt: message.createdAt ?? new Date(at) };
  });
  await dbCall("saveMessages", () => db.message.createMany({ data: rows }));
  return dbCall("saveMessages", () =>
    db.message.findMany({
      where: { id: { in: rows.map((r) => r.id) } },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
    }),
  );
}

/** The running turns (their Stream ids) whose answer, a STREAMING message, is among the chat's messages from `timestamp` on. */
export async function turnsAnsweringSince(db: Queryable, chatId: string, timestamp: Date): Promise<string[]> {
  return dbCall("turnsAnsweringSince", async () => {
    const answers = await db.message.findMany({
      where: { chatId, createdAt: { gte: timestamp }, status: "streaming" },
      select: { id: true },
    });
    if (answers.length === 0) return [];
    const turns = await db.stream.findMany({
      where: { chatId, status: "active", assistantMessageId: { in: answers.map((answer) => answer.id) } },
      select: { id: true },
    });
    return turns.map((turn) => turn.id);
  });
}

/**
 * Deletes the chat's messages created at or after `timestamp` (editing a
 * message), and the ended turns whose user message or answer goes with them,
 * so that resumeStream no longer replays what was deleted, and the chat's
 * lastContext when its latest turn goes; returns how many messages. A turn
 * still running is left to its stop and its lease.
 */
export function deleteMessagesByChatIdAfterTimestamp(
  prisma: PrismaClient,
  chatId: string,
  timestamp: Date,
): Promise<number> {
  return inTransaction(prisma, "deleteMessagesByChatIdAfterTimestamp", async (tx) => {
    // In the queue of the owner's message writers (lockUser): a turn starting meanwhile
    // reads the conversation before the edit or after it, never a part of it.
    const owner = await tx.chat.findUnique({ where: { id: chatId }, select: { userId: true } });
    if (owner) await lockUser(tx, owner.userId);
    const going = (
      await tx.message.findMany({ where: { chatId, createdAt: { gte: timestamp } }, select: { id: true } })
    ).map((m) => m.id);
    // lastContext is the latest turn's usage: when that turn goes (its user message or its
    // answer), it is no one's, and an earlier turn's is not kept.
    const latest = await tx.stream.findFirst({ where: { chatId }, orderBy: { createdAt: "desc" } });
    if (latest && (latest.createdAt >= timestamp || going.includes(latest.assistantMessageId ?? ""))) {
      await tx.$executeRaw`UPDATE "Chat" SET "lastContext" = NULL, "lastContextAt" = NULL WHERE id = ${chatId}::uuid`;
    }
    // A turn's Stream row carries its user message's time, and its answer's id.
    await tx.stream.deleteMany({
      where: {
        chatId,
        status: { not: "active" },
        OR: [{ createdAt: { gte: timestamp } }, { assistantMessageId: { in: going } }],
      },
    });
    const { count } = await tx.message.deleteMany({ where: { chatId, createdAt: { gte: timestamp } } });
    return count;
  });
}
