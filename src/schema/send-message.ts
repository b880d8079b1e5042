import type { UIMessage } from "ai";
import { z } from "zod";
import type { Env } from "../config/env.ts";
import type { MessageLimits } from "../config/limits.ts";
import { prepareTurn } from "../turn/prepare.ts";
import { builder } from "./builder.ts";
import { requireOwnedChat } from "./chat-access.ts";
import { currentUser, type Context } from "./context.ts";
import { VisibilityEnum } from "./enums.ts";
import { ChatStreamEventUnion, type StreamEventShape } from "./stream-events.ts";
import { checkMessageBounds } from "./ui-messages.ts";
import { fileUrl, invalidInput, isMediaType, MEDIA_TYPE, storable, textUpTo, uuid } from "./validation.ts";

// The input is checked once, in subscribe, with the schema below rather than
// with Pothos' `validate`, which would run again for every event of the stream.
const FileInput = builder.inputType("FileInput", {
  fields: (t) => ({
    mediaType: t.string({ required: true }),
    url: t.string({ required: true }),
    filename: t.string(),
  }),
});

const UserPartInput = builder.inputType("UserPartInput", {
  description: "Exactly one of `text` and `file`.",
  fields: (t) => ({
    text: t.string(),
    file: t.field({ type: FileInput }),
  }),
});

const UserMessageInput = builder.inputType("UserMessageInput", {
  fields: (t) => ({
    id: t.id({ required: true }),
    parts: t.field({ type: [UserPartInput], required: true }),
  }),
});

const SendMessageInput = builder.inputType("SendMessageInput", {
  fields: (t) => ({
    chatId: t.id({ required: true, description: "An unknown id creates the chat." }),
    message: t.field({ type: UserMessageInput, required: true }),
    model: t.string({
      description:
        "selectedChatModel: one of the configured ids (CHAT_MODELS; by default chat-model and chat-model-reasoning); default DEFAULT_CHAT_MODEL.",
    }),
    visibility: t.field({ type: VisibilityEnum, description: "For a new chat; default PRIVATE." }),
  }),
});

function sendMessageInputOf(limits: MessageLimits) {
  return z.object({
    chatId: uuid,
    message: z.object({
      id: uuid,
      parts: z
        .array(
          z
            .object({
              text: textUpTo(limits.MAX_TEXT_LENGTH).nullish(),
              file: z
                .object({
                  mediaType: z.string().refine(isMediaType, MEDIA_TYPE),
                  url: fileUrl,
                  filename: storable.max(255).nullish(),
                })
                .nullish(),
            })
            .refine((part) => (part.text != null) !== (part.file != null), "set exactly one of text and file"),
        )
        .min(1)
        .max(limits.MAX_PARTS_PER_MESSAGE),
    }),
    model: storable.min(1).max(100).nullish(),
    visibility: z.enum(["public", "private"]).nullish(),
  });
}

// One schema per Env (the app's configuration), built on first use.
const inputSchemas = new WeakMap<MessageLimits, ReturnType<typeof sendMessageInputOf>>();

type SendMessageArgs = z.infer<ReturnType<typeof sendMessageInputOf>>;

function checkedInput(
  input: typeof SendMessageInput.$inferInput,
  env: MessageLimits & Pick<Env, "CHAT_MODELS">,
): SendMessageArgs {
  let schema = inputSchemas.get(env);
  if (!schema) inputSchemas.set(env, (schema = sendMessageInputOf(env)));
  const result = schema.safeParse(input);
  if (!result.success) throw invalidInput(result.error.issues, ["input"]);
  const { model } = result.data;
  if (model != null && env.CHAT_MODELS !== "*" && !env.CHAT_MODELS.includes(model)) {
    throw invalidInput([{ message: `must be one of ${env.CHAT_MODELS.join(", ")}`, path: ["model"] }], ["input"]);
  }
  return result.data;
}

/**
 * The input's user message as an AI SDK UIMessage. Built from the checked
 * input, its parts are text and file parts by construction, so only the
 * size bounds of stored messages remain to check: the AI SDK's validator
 * would run its zod schemas on the first-delta path for nothing.
 */
function userMessageOf(input: SendMessageArgs, limits: MessageLimits): UIMessage {
  const parts = input.message.parts.map((part) =>
    part.text != null
      ? { type: "text" as const, text: part.text }
      : {
          type: "file" as const,
          mediaType: part.file!.mediaType,
          url: part.file!.url,
          ...(part.file!.filename ? { filename: part.file!.filename } : {}),
        },
  );
  const [message] = checkMessageBounds([{ id: input.message.id, role: "user", parts }], limits);
  return message;
}

/**
 * Admits and prepares the turn, then returns its events. Refusals (bad input,
 * auth, quota, ownership, draining, overload) are thrown before the event
 * stream starts, so they reach the client as a GraphQL error and nothing is
 * sent upstream. The turn's log reader is returned as it is: a wrapping
 * generator would cost every event of the turn a few promises more.
 */
async function sendMessage(input: SendMessageArgs, ctx: Context): Promise<AsyncGenerator<StreamEventShape>> {
  const user = currentUser(ctx);
  // Refused (draining, overloaded) before anything is stored or charged.
  const run = await ctx.services.turns.admit(user.id, () => {
    const preparing = prepareTurn(ctx.db, ctx.env, user, {
      chatId: input.chatId,
      message: userMessageOf(input, ctx.env),
      model: input.model ?? null,
      visibility: input.visibility ?? null,
      ownerId: ctx.services.turns.instanceId,
    });
    // Signing the streamer's token now overlaps the database round trip.
    ctx.services.turns.warm(user.id, input.chatId);
    return preparing;
  });
  // A client that goes away ends only its reading: the turn runs on, is
  // stored, and can be resumed (resumeStream) from the last seq it saw.
  return run.subscribe(-1, ctx.request.signal);
}

builder.subscriptionField("sendMessage", (t) =>
  t.field({
    type: ChatStreamEventUnion,
    description:
      "One turn: StreamStarted, the deltas, then exactly one of StreamFinished, StreamAborted or StreamFailed. Refusals (bad input, auth, quota, ownership) arrive as a GraphQL error before any event.",
    args: { input: t.arg({ type: SendMessageInput, required: true }) },
    subscribe: (_root, { input }, ctx) => sendMessage(checkedInput(input, ctx.env), ctx),
    resolve: (event) => event,
  }),
);

builder.mutationField("stopStream", (t) =>
  t.boolean({
    description: "Stops the chat's running generation, from any connection of the owner; true when one was running.",
    args: { chatId: t.arg.id({ required: true, validate: uuid }) },
    resolve: async (_root, args, ctx) => {
      await requireOwnedChat(ctx, args.chatId);
      return ctx.services.turns.stop(args.chatId, "Stopped by the user.");
    },
  }),
);
