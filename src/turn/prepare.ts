import { randomUUID } from "node:crypto";
import type { UIMessage } from "ai";
import type { Env } from "../config/env.ts";
import { DEFAULT_CHAT_TITLE } from "../db/chats.ts";
import type { Database } from "../db/client.ts";
import { tracedDbCall } from "../db/queryable.ts";
import { beginTurn } from "../db/turn-queries.ts";
import { ChatSDKError, codeOf, idNotAvailable } from "../errors.ts";
import type { Chat, Message, User, Visibility } from "../generated/prisma/client.ts";
import { dailyMessageLimit, quotaWindowStart } from "../quota.ts";
import { toUIMessage } from "./ui-message.ts";
import { closeUnansweredToolCalls } from "./unanswered-tools.ts";

export interface TurnRequest {
  chatId: string;
  /** The new user message, already validated. */
  message: UIMessage;
  model: string | null;
  visibility: Visibility | null;
  /** The instance that will run the turn: the owner lease's holder. */
  ownerId: string;
}

/** What step 1 of the turn stored, and what the streamer call needs. */
export interface PreparedTurn {
  user: User;
  chat: Chat;
  userMessage: Message;
  streamId: string;
  assistantMessageId: string;
  selectedChatModel: string;
  /** The chat's messages before the new one, oldest first (the new turn's own assistant message not among them); empty once streamerPayload took them. */
  existingMessages: UIMessage[];
}

const TITLE_LENGTH = 80;

/**
 * Step 1 of a turn, before anything goes upstream, in one atomic statement
 * (beginTurn): the quota under the user's lock, the chat (owned, or created
 * with the requested visibility), its messages, the user message, the
 * STREAMING assistant message and the Stream row with its owner lease. Throws the refusal's ChatSDKError, having written nothing.
 */
export async function prepareTurn(db: Database, env: Env, user: User, request: TurnRequest): Promise<PreparedTurn> {
  const streamId = randomUUID();
  const assistantMessageId = randomUUID();
  const begun = await tracedDbCall("beginTurn", async () => {
    try {
      return await beginTurn(db.sql, {
        userId: user.id,
        quotaSince: quotaWindowStart(),
        quotaLimit: dailyMessageLimit(env, user.type),
        chatId: request.chatId,
        title: titleFrom(request.message),
        visibility: request.visibility ?? "private",
        messageId: request.message.id,
        parts: request.message.parts,
        streamId,
        now: new Date(),
        assistantMessageId,
        ownerId: request.ownerId,
      });
    } catch (error) {
      // Checked free under the user's lock; only a write racing from elsewhere gets here.
      if (codeOf(error) === UNIQUE_VIOLATION) throw messageIdTaken(request.message.id);
      throw error;
    }
  });
  if (begun.refusal !== null) throw refusalError(begun.refusal, request);
  return {
    user,
    chat: begun.chat,
    userMessage: begun.message,
    streamId,
    assistantMessageId,
    selectedChatModel: request.model ?? env.DEFAULT_CHAT_MODEL,
    existingMessages: closeUnansweredToolCalls(begun.existing.map(toUIMessage)),
  };
}

function refusalError(
  refusal: "quota" | "message-id-taken" | "chat-id-taken" | "forbidden",
  request: { chatId: string; message: { id: string } },
): ChatSDKError {
  if (refusal === "quota") return new ChatSDKError("rate_limit:chat");
  if (refusal === "message-id-taken") return messageIdTaken(request.message.id);
  // The id of a chat deleted once (never taken again: a link to it must not show another chat).
  if (refusal === "chat-id-taken") return idNotAvailable("Chat", request.chatId);
  return new ChatSDKError("forbidden:chat");
}

const UNIQUE_VIOLATION = "23505";

function messageIdTaken(id: string): ChatSDKError {
  return idNotAvailable("Message", id);
}

function titleFrom(message: UIMessage): string {
  const text = message.parts
    .find((part) => part.type === "text")
    ?.text.replace(/\s+/g, " ")
    .trim();
  if (!text) return DEFAULT_CHAT_TITLE;
  if (text.length <= TITLE_LENGTH) return text;
  let end = TITLE_LENGTH - 1;
  // Not between the halves of a surrogate pair (an emoji): one half alone is stored as U+FFFD.
  if (isHighSurrogate(text.charCodeAt(end - 1))) end--;
  return `${text.slice(0, end)}…`;
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}
