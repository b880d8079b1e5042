import { getMessageById } from "../db/messages.ts";
import { getVotesOfOwnChats, voteMessage } from "../db/votes.ts";
import { ChatSDKError } from "../errors.ts";
import type { Vote } from "../generated/prisma/client.ts";
import { builder } from "./builder.ts";
import { ChatRef } from "./chat.ts";
import { requireOwnedChat } from "./chat-access.ts";
import { uuid } from "./validation.ts";

const VoteRef = builder.objectRef<Vote>("Vote").implement({
  description: "The chat owner's vote on one assistant message.",
  fields: (t) => ({
    messageId: t.exposeID("messageId"),
    isUpvoted: t.exposeBoolean("isUpvoted"),
  }),
});

builder.objectField(ChatRef, "votes", (t) =>
  t.loadableGroup({
    type: VoteRef,
    description: "The owner's votes on this chat's messages; empty for anyone else (votes stay private).",
    load: async (chatIds: string[], ctx) =>
      ctx.user ? getVotesOfOwnChats(ctx.db.prisma, { chatIds, userId: ctx.user.id }) : [],
    group: (vote) => vote.chatId,
    resolve: (chat) => chat.id,
  }),
);

builder.mutationField("voteMessage", (t) =>
  t.boolean({
    description: "Up- or down-votes a message of the caller's chat; a later vote replaces an earlier one.",
    args: {
      chatId: t.arg.id({ required: true, validate: uuid }),
      messageId: t.arg.id({ required: true, validate: uuid }),
      up: t.arg.boolean({ required: true }),
    },
    resolve: async (_root, args, ctx) => {
      await requireOwnedChat(ctx, args.chatId);
      const message = await getMessageById(ctx.db.prisma, args.messageId);
      if (!message || message.chatId !== args.chatId) {
        throw new ChatSDKError("not_found:chat", "The message was not found in this chat.");
      }
      await voteMessage(ctx.db.prisma, { chatId: args.chatId, messageId: args.messageId, isUpvoted: args.up });
      return true;
    },
  }),
);
