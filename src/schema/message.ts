import type { UIMessage } from "ai";
import { z } from "zod";
import { inTransaction } from "../db/queryable.ts";
import {
  deleteMessagesByChatIdAfterTimestamp,
  getMessageById,
  turnsAnsweringSince,
  saveMessages,
} from "../db/messages.ts";
import { ChatSDKError, idNotAvailable } from "../errors.ts";
import { EDITED } from "../turn/turn-endings.ts";
import type { Message } from "../generated/prisma/client.ts";
import { userMessagesFit } from "../quota.ts";
import { builder } from "./builder.ts";
import { assertOwner, requireOwnedChat } from "./chat-access.ts";
import { currentUser } from "./context.ts";
import { MessageRoleEnum, MessageStatusEnum } from "./enums.ts";
import { knownParts, MessagePartUnion } from "./message-part.ts";
import { validateUIMessages } from "./ui-messages.ts";
import { invalidInput, uuid } from "./validation.ts";
import { lockChatById } from "../db/chats.ts";

export const MessageRef = builder.objectRef<Message>("Message").implement({
  fields: (t) => ({
    id: t.exposeID("id"),
    chatId: t.exposeID("chatId"),
    role: t.expose("role", { type: MessageRoleEnum }),
    parts: t.field({ type: [MessagePartUnion], resolve: (message) => knownParts(message.parts) }),
    status: t.expose("status", { type: MessageStatusEnum }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
  }),
});

const MessageInput = builder.inputType("MessageInput", {
  fields: (t) => ({
    id: t.id({ required: true, validate: uuid }),
    role: t.field({ type: MessageRoleEnum, required: true }),
    parts: t.field({ type: "JSON", required: true, description: "AI SDK UIMessage parts." }),
  }),
});

builder.mutationField("saveMessages", (t) =>
  t.field({
    type: [MessageRef],
    description: "Appends messages to the caller's chat; user messages count against the daily quota.",
    args: {
      chatId: t.arg.id({ required: true, validate: uuid }),
      messages: t.arg({
        type: [MessageInput],
        required: true,
        // At most MAX_MESSAGES_PER_CALL: checked below, against the app's Env.
        validate: z.array(z.any()).min(1),
      }),
    },
    resolve: async (_root, args, ctx) => {
      const user = currentUser(ctx);
      if (args.messages.length > ctx.env.MAX_MESSAGES_PER_CALL) {
        throw invalidInput([
          { message: `must be at most ${ctx.env.MAX_MESSAGES_PER_CALL} messages`, path: ["messages"] },
        ]);
      }
      const messages = await validateUIMessages(args.messages as UIMessage[], ctx.env);
      if (new Set(messages.map((m) => m.id)).size !== messages.length) {
        throw new ChatSDKError("bad_request:api", "Message ids must be distinct.");
      }
      const userMessages = messages.filter((m) => m.role === "user").length;
      return inTransaction(ctx.db.prisma, "saveMessages", async (tx) => {
        const fits = await userMessagesFit(tx, ctx.env, user, userMessages);
        const chat = await lockChatById(tx, args.chatId);
        if (!chat) throw new ChatSDKError("not_found:chat");
        // Ownership is judged before the quota.
        assertOwner(ctx, chat);
        if (!fits) throw new ChatSDKError("rate_limit:chat");
        const taken = await tx.message.findMany({
          where: { id: { in: messages.map((m) => m.id) } },
          select: { id: true },
        });
        if (taken.length > 0) throw idNotAvailable("Message", taken[0].id);
        return saveMessages(
          tx,
          messages.map((m) => ({ id: m.id, chatId: chat.id, userId: user.id, role: m.role, parts: m.parts as never })),
        );
      });
    },
  }),
);

builder.mutationField("deleteTrailingMessages", (t) =>
  t.int({
    description:
      "Removes the message and every later one in its chat (editing a message); returns how many. A turn of the chat still answering among them is stopped first (its stream ends with StreamAborted); the turns whose messages go are no longer replayed by resumeStream.",
    args: { messageId: t.arg.id({ required: true, validate: uuid }) },
    resolve: async (_root, args, ctx) => {
      const message = await getMessageById(ctx.db.prisma, args.messageId);
      if (!message) throw new ChatSDKError("not_found:chat", "The message was not found.");
      await requireOwnedChat(ctx, message.chatId);
      // A running turn whose messages go would store its answer after the edit: it
      // stops first (its partial answer stored), and that answer goes with the rest.
      // A turn of the chat answering before the edited message runs on.
      const answering = await turnsAnsweringSince(ctx.db.prisma, message.chatId, message.createdAt);
      if (answering.length > 0) await ctx.services.turns.stop(message.chatId, EDITED, answering);
      return deleteMessagesByChatIdAfterTimestamp(ctx.db.prisma, message.chatId, message.createdAt);
    },
  }),
);
