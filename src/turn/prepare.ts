import { randomUUID } from "node:crypto";
import type { UIMessage } from "ai";
import type { Env } from "../config/env.ts";
import { getChatById, saveChat } from "../db/chats.ts";
import type { Database } from "../db/client.ts";
import { getMessageById, getMessagesByChatId, saveMessages } from "../db/messages.ts";
import { inTransaction } from "../db/queryable.ts";
import { createStreamId } from "../db/streams.ts";
import { ChatSDKError } from "../errors.ts";
import type { Chat, Message, User, Visibility } from "../generated/prisma/client.ts";
import { reserveQuota } from "../quota.ts";
import { toUIMessage } from "./ui-message.ts";

export interface TurnRequest {
  chatId: string;
  /** The new user message, already validated. */
  message: UIMessage;
  model: string | null;
  visibility: Visibility | null;
}

/** Everything stored before the streamer is called, and what the call needs. */
export interface PreparedTurn {
  user: User;
  chat: Chat;
  userMessage: Message;
  streamId: string;
  assistantMessageId: string;
  selectedChatModel: string;
  /** The chat's messages before the new one, oldest first. */
  existingMessages: UIMessage[];
}

const TITLE_LENGTH = 80;
const DEFAULT_TITLE = "New chat";

/**
 * Step 1 of a turn, in one transaction: the quota, the chat (owned, or created
 * with the requested visibility), the user message and the Stream row.
 * Any refusal throws before anything is stored or sent upstream.
 */
export function prepareTurn(db: Database, env: Env, user: User, request: TurnRequest): Promise<PreparedTurn> {
  return inTransaction(db.prisma, "prepareTurn", async (tx) => {
    await reserveQuota(tx, env, user, 1);
    let chat = await getChatById(tx, request.chatId);
    if (!chat) {
      // Two callers creating one chat id: the second waits here for the first
      // to commit, then sees its chat (forbidden:chat, not a unique violation).
      await tx.$executeRaw`SELECT pg_advisory_xact_lock(hashtext(${request.chatId}))`;
      chat = await getChatById(tx, request.chatId);
    }
    if (chat && chat.userId !== user.id) throw new ChatSDKError("forbidden:chat");
    chat ??= await saveChat(tx, {
      id: request.chatId,
      userId: user.id,
      title: titleFrom(request.message),
      visibility: request.visibility ?? "private",
    });
    if (await getMessageById(tx, request.message.id)) {
      throw new ChatSDKError("bad_request:api", `Message id ${request.message.id} already exists.`);
    }
    const existing = await getMessagesByChatId(tx, { chatId: chat.id });
    const [userMessage] = await saveMessages(tx, [
      { id: request.message.id, chatId: chat.id, userId: user.id, role: "user", parts: request.message.parts as never },
    ]);
    const stream = await createStreamId(tx, { id: randomUUID(), chatId: chat.id });
    return {
      user,
      chat,
      userMessage,
      streamId: stream.id,
      assistantMessageId: randomUUID(),
      selectedChatModel: request.model ?? env.DEFAULT_CHAT_MODEL,
      existingMessages: existing.map(toUIMessage),
    };
  });
}

function titleFrom(message: UIMessage): string {
  const text = message.parts.find((part) => part.type === "text")?.text.replace(/\s+/g, " ").trim();
  if (!text) return DEFAULT_TITLE;
  return text.length > TITLE_LENGTH ? `${text.slice(0, TITLE_LENGTH - 1)}…` : text;
}
