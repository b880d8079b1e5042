import { randomUUID } from "node:crypto";
import type { UIMessage } from "ai";
import type { Env } from "../config/env.ts";
import type { Database } from "../db/client.ts";
import { inSqlTransaction } from "../db/queryable.ts";
import {
  insertChatIfAbsent,
  insertUserMessageAndStream,
  lockChat,
  lockUserAndReadTurnState,
  selectMessagesByChatId,
} from "../db/turn-queries.ts";
import { ChatSDKError } from "../errors.ts";
import type { Chat, Message, User, Visibility } from "../generated/prisma/client.ts";
import { nextMessageTime } from "../db/messages.ts";
import { dailyMessageLimit, QUOTA_WINDOW_HOURS } from "../quota.ts";
import { toUIMessage } from "./ui-message.ts";

export interface TurnRequest {
  chatId: string;
  /** The new user message, already validated. */
  message: UIMessage;
  model: string | null;
  visibility: Visibility | null;
}

/** Everything the turn stores before its answer, and what the streamer call needs. */
export interface PreparedTurn {
  user: User;
  chat: Chat;
  userMessage: Message;
  streamId: string;
  assistantMessageId: string;
  selectedChatModel: string;
  /** The chat's messages before the new one, oldest first. */
  existingMessages: UIMessage[];
  /**
   * Settles when the user message and the Stream row are committed. Until then
   * the turn is not stored: StreamStarted waits for it, and a rejection
   * refuses the turn.
   */
  stored: Promise<void>;
}

const TITLE_LENGTH = 80;
const DEFAULT_TITLE = "New chat";

/**
 * Step 1 of a turn, in one transaction. First the checks and reads: the quota
 * (the user's row locked, so parallel sends queue), the message id, the chat
 * (owned, or created with the requested visibility) and its messages; any
 * refusal throws here, before the streamer is called. The
 * returned turn then lets the streamer call start while the same transaction
 * writes the user message and the Stream row and commits (`stored`).
 */
export function prepareTurn(db: Database, env: Env, user: User, request: TurnRequest): Promise<PreparedTurn> {
  const { promise: checked, resolve, reject } = Promise.withResolvers<PreparedTurn>();
  const stored = inSqlTransaction(db, "prepareTurn", async (sql) => {
    const state = await lockUserAndReadTurnState(sql, {
      userId: user.id,
      since: new Date(Date.now() - QUOTA_WINDOW_HOURS * 60 * 60 * 1000),
      messageId: request.message.id,
      chatId: request.chatId,
    });
    if (state.used >= dailyMessageLimit(env, user.type)) throw new ChatSDKError("rate_limit:chat");
    if (state.messageIdTaken) {
      throw new ChatSDKError("bad_request:api", `Message id ${request.message.id} already exists.`);
    }

    let { chat, messages: existing } = state;
    if (!chat) {
      // Created before the streamer is called, so a race for a new chat id is
      // settled (and the loser refused) before anything goes upstream.
      const created = await insertChatIfAbsent(sql, {
        id: request.chatId,
        userId: user.id,
        title: titleFrom(request.message),
        visibility: request.visibility ?? "private",
      });
      // Null: another request created this chat id first; it is theirs, or ours with messages.
      chat = created ?? (await lockChat(sql, request.chatId));
      if (!created && chat?.userId === user.id) existing = await selectMessagesByChatId(sql, chat.id);
    }
    if (!chat || chat.userId !== user.id) throw new ChatSDKError("forbidden:chat");

    const userMessage: Message = {
      id: request.message.id,
      chatId: chat.id,
      userId: user.id,
      role: "user",
      parts: request.message.parts as Message["parts"],
      attachments: [],
      status: "complete",
      createdAt: nextMessageTime(existing.at(-1)?.createdAt ?? null),
    };
    const turn: Omit<PreparedTurn, "stored"> = {
      user,
      chat,
      userMessage,
      streamId: randomUUID(),
      assistantMessageId: randomUUID(),
      selectedChatModel: request.model ?? env.DEFAULT_CHAT_MODEL,
      existingMessages: existing.map(toUIMessage),
    };
    resolve({ ...turn, stored: stored.then(() => {}) });

    const inserted = await insertUserMessageAndStream(sql, userMessage, turn.streamId);
    // Checked above under the user's lock; only a write racing from elsewhere gets here.
    if (!inserted) throw new ChatSDKError("bad_request:api", `Message id ${userMessage.id} already exists.`);
  });
  // A refusal before the checks passed rejects `checked`; after, only `stored`.
  stored.catch(reject);
  return checked;
}

function titleFrom(message: UIMessage): string {
  const text = message.parts.find((part) => part.type === "text")?.text.replace(/\s+/g, " ").trim();
  if (!text) return DEFAULT_TITLE;
  return text.length > TITLE_LENGTH ? `${text.slice(0, TITLE_LENGTH - 1)}…` : text;
}
