import { z } from "zod";
import { getChatById } from "../db/chats.ts";
import { getLatestStreamByChatId, getStreamOfChat } from "../db/streams.ts";
import { ChatSDKError } from "../errors.ts";
import { metrics } from "../metrics.ts";
import { builder } from "./builder.ts";
import { canReadChat } from "./chat-access.ts";
import { currentUser, type Context } from "./context.ts";
import { ChatStreamEventUnion, type StreamEventShape } from "./stream-events.ts";
import { invalidInput, uuid } from "./validation.ts";

const resumeArgs = z.object({
  chatId: uuid,
  afterSeq: z.number().int().min(0, "must be 0 or more; null resumes from StreamStarted").nullish(),
  streamId: uuid.nullish(),
});

/**
 * Checks the caller may read the chat and finds its latest turn, before the
 * event stream starts, so refusals arrive as a GraphQL error as sendMessage's do.
 */
async function resume(args: unknown, ctx: Context): Promise<AsyncGenerator<StreamEventShape>> {
  currentUser(ctx);
  const parsed = resumeArgs.safeParse(args);
  if (!parsed.success) throw invalidInput(parsed.error.issues);
  const { chatId, afterSeq, streamId } = parsed.data;
  const chat = await getChatById(ctx.db.prisma, chatId);
  if (!chat) throw new ChatSDKError("not_found:chat");
  if (!canReadChat(ctx, chat)) throw new ChatSDKError("forbidden:chat");
  // With streamId, that turn only: a client holding some of its events must not
  // continue them with the events of a newer turn of the chat.
  const stream = streamId
    ? await getStreamOfChat(ctx.db.prisma, chatId, streamId)
    : await getLatestStreamByChatId(ctx.db.prisma, chatId);
  if (!stream) return (async function* () {})();
  const events = ctx.services.turns.resume(stream.id, afterSeq ?? -1, stream.status === "active", ctx.request.signal);
  // A reader other than the owner reads only while the chat stays public.
  const owner = chat.userId === ctx.user?.id;
  return counted(owner ? events : ctx.services.publicReaders.whilePublic(chatId, events));
}

/** The events, counted as a resumer (/metrics) while they are read. */
async function* counted<T>(events: AsyncGenerator<T>): AsyncGenerator<T> {
  metrics.resumerStarted();
  try {
    yield* events;
  } finally {
    metrics.resumerEnded();
  }
}

builder.subscriptionField("resumeStream", (t) =>
  t.field({
    type: ChatStreamEventUnion,
    description:
      "The chat's latest turn (or the turn `streamId`), on whichever instance runs it: the events after `afterSeq` (all from StreamStarted when null), then live ones until the terminal event. A turn that ended less than the retention ago (5 minutes by default) replays to its terminal event; no turn, or an older one, completes with no event. For the owner, or anyone signed in for a public chat (while it stays public: made private, their stream ends with forbidden:chat).",
    args: {
      chatId: t.arg.id({ required: true }),
      afterSeq: t.arg.int({ description: "The last seq the client holds; null for the whole turn." }),
      streamId: t.arg.id({
        description:
          "StreamStarted.streamId of the turn the client holds events of: that turn only (no event when the chat has no such turn, or it ended longer ago than the retention); null for the chat's latest turn.",
      }),
    },
    subscribe: (_root, args, ctx) => resume(args, ctx),
    resolve: (event) => event,
  }),
);
