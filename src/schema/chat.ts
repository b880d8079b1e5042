import { randomUUID } from "node:crypto";
import { resolveCursorConnection, type ResolveCursorConnectionArgs } from "@pothos/plugin-relay";
import {
  DEFAULT_CHAT_TITLE,
  deleteChatById,
  getChatById,
  isDeletedChatId,
  getChatsByUserId,
  saveChat,
  updateChatVisibilityById,
} from "../db/chats.ts";
import { decodeCursor, encodeCursor } from "../db/cursor.ts";
import { getMessagePagesByChatIds } from "../db/messages.ts";
import { ChatSDKError, idNotAvailable } from "../errors.ts";
import { CHAT_DELETED } from "../turn/turn-endings.ts";
import type { Chat, Message } from "../generated/prisma/client.ts";
import { builder } from "./builder.ts";
import { canReadChat, requireOwnedChat } from "./chat-access.ts";
import { currentUser } from "./context.ts";
import { VisibilityEnum } from "./enums.ts";
import { MessageRef } from "./message.ts";
import { UsageRef, usageFromJson } from "./usage.ts";
import { invalidInput, pageArgs, title, uuid } from "./validation.ts";

export const ChatRef = builder.objectRef<Chat>("Chat").implement({
  // Every path to a chat passes here: private chats of others are `forbidden:chat`.
  authScopes: (chat, ctx) => canReadChat(ctx, chat),
  fields: (t) => ({
    id: t.exposeID("id"),
    title: t.exposeString("title"),
    visibility: t.expose("visibility", { type: VisibilityEnum }),
    createdAt: t.expose("createdAt", { type: "DateTime" }),
    lastContext: t.field({
      type: UsageRef,
      nullable: true,
      description:
        "Usage of the chat's latest turn; null before any, and once deleteTrailingMessages has deleted that turn's answer (earlier turns' usage is not kept).",
      resolve: (chat) => usageFromJson(chat.lastContext),
    }),
    messages: t.loadable({
      type: MessageConnection,
      description: "Oldest first.",
      args: {
        first: t.arg.int({ description: FIRST_DESCRIPTION }),
        after: t.arg.string({ description: AFTER_DESCRIPTION }),
      },
      validate: pageArgs,
      // A loader per place in the query, so every chat it loads has the same page arguments.
      byPath: true,
      // async: a refusal (a bad cursor) then rejects the load instead of DataLoader's own TypeError.
      load: async (chatIds: string[], ctx, args) => {
        let pages: Promise<Map<string, Message[]>> | undefined;
        return Promise.all(
          chatIds.map((chatId) =>
            resolvePage(args, ctx.env.MAX_PAGE_SIZE, async (page) => {
              pages ??= getMessagePagesByChatIds(ctx.db.prisma, { chatIds, limit: page.limit, after: page.cursor });
              return (await pages).get(chatId) ?? [];
            }),
          ),
        );
      },
      resolve: (chat) => chat.id,
    }),
  }),
});

const MessageConnection = builder.connectionObject(
  { type: MessageRef, name: "MessageConnection" },
  { name: "MessageEdge" },
);

// Declared after ChatRef's fields are thunked, so the ref is ready.
const ChatConnection = builder.connectionObject({ type: ChatRef, name: "ChatConnection" }, { name: "ChatEdge" });

const DEFAULT_PAGE_SIZE = 20;

const FIRST_DESCRIPTION = `Page size, default ${DEFAULT_PAGE_SIZE}, at most MAX_PAGE_SIZE (100 unless configured).`;
const AFTER_DESCRIPTION = "The endCursor of the previous page.";

/** Forward pagination over a (createdAt, id) order. */
async function resolvePage<T extends { createdAt: Date; id: string }>(
  args: { first?: number | null; after?: string | null },
  maxPageSize: number,
  load: (page: { limit: number; cursor: ReturnType<typeof decodeCursor> }) => Promise<T[]>,
) {
  if (args.first != null && args.first > maxPageSize) {
    throw invalidInput([{ message: `must be at most ${maxPageSize}`, path: ["first"] }]);
  }
  const cursor = args.after ? decodeCursor(args.after) : null;
  if (args.after && !cursor) throw new ChatSDKError("bad_request:api", "after: not a valid cursor.");
  const connection = await resolveCursorConnection(
    {
      args: { first: args.first ?? DEFAULT_PAGE_SIZE, after: args.after ?? undefined },
      toCursor: (row: T) => encodeCursor(row),
    },
    ({ limit }: ResolveCursorConnectionArgs) => load({ limit, cursor }),
  );
  // An empty page has no cursors (Relay: null), where the plugin gives "".
  const { pageInfo } = connection;
  return {
    ...connection,
    pageInfo: { ...pageInfo, startCursor: pageInfo.startCursor || null, endCursor: pageInfo.endCursor || null },
  };
}

builder.queryFields((t) => ({
  chat: t.field({
    type: ChatRef,
    nullable: true,
    description: "Null when it does not exist; a private chat of another user is `forbidden:chat`.",
    args: { id: t.arg.id({ required: true, validate: uuid }) },
    resolve: async (_root, args, ctx) => {
      const chat = await getChatById(ctx.db.prisma, args.id);
      // Here as well as on the type's fields: a selection of `__typename` alone runs none of them.
      if (chat && !canReadChat(ctx, chat)) {
        currentUser(ctx);
        throw new ChatSDKError("forbidden:chat");
      }
      return chat;
    },
  }),
  chats: t.field({
    type: ChatConnection,
    description: "The caller's own chats, newest first (ties broken by id).",
    args: {
      first: t.arg.int({ description: FIRST_DESCRIPTION }),
      after: t.arg.string({ description: AFTER_DESCRIPTION }),
    },
    validate: pageArgs,
    resolve: (_root, args, ctx) =>
      resolvePage(args, ctx.env.MAX_PAGE_SIZE, (page) =>
        getChatsByUserId(ctx.db.prisma, { userId: currentUser(ctx).id, limit: page.limit, after: page.cursor }),
      ),
  }),
}));

const CreateChatInput = builder.inputType("CreateChatInput", {
  fields: (t) => ({
    id: t.id({ validate: uuid }),
    title: t.string({ validate: title }),
    visibility: t.field({ type: VisibilityEnum }),
  }),
});

builder.mutationFields((t) => ({
  createChat: t.field({
    type: ChatRef,
    args: { input: t.arg({ type: CreateChatInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const id = input.id ?? randomUUID();
      const taken = () => idNotAvailable("Chat", id);
      if ((await getChatById(ctx.db.prisma, id)) || (await isDeletedChatId(ctx.db.prisma, id))) throw taken();
      try {
        return await saveChat(ctx.db.prisma, {
          id,
          userId: currentUser(ctx).id,
          title: input.title ?? DEFAULT_CHAT_TITLE,
          visibility: input.visibility ?? "private",
        });
      } catch (error) {
        // A concurrent create of the same id won the insert, or a concurrent delete made it a deleted chat's.
        if ((await getChatById(ctx.db.prisma, id)) || (await isDeletedChatId(ctx.db.prisma, id))) throw taken();
        throw error;
      }
    },
  }),
  updateChatVisibility: t.field({
    type: ChatRef,
    args: {
      id: t.arg.id({ required: true, validate: uuid }),
      visibility: t.arg({ type: VisibilityEnum, required: true }),
    },
    resolve: async (_root, args, ctx) => {
      await requireOwnedChat(ctx, args.id);
      return updateChatVisibilityById(ctx.db.prisma, args.id, args.visibility);
    },
  }),
  deleteChat: t.id({
    description: "Deletes the chat with its messages, votes and streams; returns its id.",
    args: { id: t.arg.id({ required: true, validate: uuid }) },
    resolve: async (_root, args, ctx) => {
      const chat = await requireOwnedChat(ctx, args.id);
      // A running turn would otherwise generate to the end for a chat that is gone.
      await ctx.services.turns.stop(chat.id, CHAT_DELETED);
      await deleteChatById(ctx.db.prisma, chat.id);
      return chat.id;
    },
  }),
}));
