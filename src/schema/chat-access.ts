import { getChatById } from "../db/chats.ts";
import { ChatSDKError } from "../errors.ts";
import type { Chat } from "../generated/prisma/client.ts";
import { currentUser, type Context } from "./context.ts";

/** The chat, when the caller owns it: `not_found:chat` or `forbidden:chat` otherwise. */
export async function requireOwnedChat(ctx: Context, chatId: string): Promise<Chat> {
  const chat = await getChatById(ctx.db.prisma, chatId);
  if (!chat) throw new ChatSDKError("not_found:chat");
  assertOwner(ctx, chat);
  return chat;
}

export function assertOwner(ctx: Context, chat: Chat): void {
  if (chat.userId !== currentUser(ctx).id) throw new ChatSDKError("forbidden:chat");
}

/** Public chats are readable by anyone signed in; private ones only by their owner. */
export function canReadChat(ctx: Context, chat: Chat): boolean {
  return chat.visibility === "public" || chat.userId === ctx.user?.id;
}
