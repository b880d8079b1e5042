import type { Chat, Visibility } from "../generated/prisma/client.ts";
import { afterCursor, type Cursor } from "./cursor.ts";
import { dbCall, type Queryable } from "./queryable.ts";

export function getChatById(db: Queryable, id: string): Promise<Chat | null> {
  return dbCall("getChatById", () => db.chat.findUnique({ where: { id } }));
}

/**
 * Inside a transaction: the chat, its row locked until commit, so writers to
 * one chat (message ids, timestamps) take turns. Null when it does not exist.
 */
export async function lockChatById(db: Queryable, id: string): Promise<Chat | null> {
  await dbCall("lockChatById", () => db.$queryRaw`SELECT id FROM "Chat" WHERE id = ${id}::uuid FOR UPDATE`);
  return getChatById(db, id);
}

/** The title of a chat created without one (and of a turn's new chat whose message has no text). */
export const DEFAULT_CHAT_TITLE = "New chat";

export interface NewChat {
  id: string;
  userId: string;
  title: string;
  visibility: Visibility;
}

/** Whether `id` was a chat's that is deleted: such an id is never taken again. */
export async function isDeletedChatId(db: Queryable, id: string): Promise<boolean> {
  return (await dbCall("isDeletedChatId", () => db.deletedChat.findUnique({ where: { id } }))) !== null;
}

export function saveChat(db: Queryable, chat: NewChat): Promise<Chat> {
  return dbCall("saveChat", () => db.chat.create({ data: chat }));
}

/** The user's chats, newest first; ties on createdAt are broken by id so pages never overlap. */
export function getChatsByUserId(
  db: Queryable,
  args: { userId: string; limit: number; after?: Cursor | null },
): Promise<Chat[]> {
  return dbCall("getChatsByUserId", () =>
    db.chat.findMany({
      where: { userId: args.userId, ...(args.after ? afterCursor(args.after, "desc") : {}) },
      orderBy: [{ createdAt: "desc" }, { id: "desc" }],
      take: args.limit,
    }),
  );
}

/** Deletes the chat; its messages, votes and streams go with it (foreign-key cascades). */
export async function deleteChatById(db: Queryable, id: string): Promise<boolean> {
  const { count } = await dbCall("deleteChatById", () => db.chat.deleteMany({ where: { id } }));
  return count > 0;
}

export function updateChatVisibilityById(db: Queryable, id: string, visibility: Visibility): Promise<Chat> {
  return dbCall("updateChatVisibilityById", () => db.chat.update({ where: { id }, data: { visibility } }));
}
