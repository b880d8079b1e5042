import { isToolUIPart, type UIMessage } from "ai";
import { z } from "zod";
import { lockChatById } from "../db/chats.ts";
import { inTransaction } from "../db/queryable.ts";
import { lockUser } from "../db/users.ts";
import { ChatSDKError } from "../errors.ts";
import { builder } from "./builder.ts";
import { assertOwner } from "./chat-access.ts";
import { currentUser } from "./context.ts";
import { MessageRef } from "./message.ts";
import { validateUIMessages } from "./ui-messages.ts";
import { invalidInput, storable, textUpTo, uuid } from "./validation.ts";

const ToolOutputInput = builder.inputType("ToolOutputInput", {
  description:
    "A client-side tool's result, as useChat's addToolOutput gives it: exactly one of `output` and `errorText`.",
  fields: (t) => ({
    chatId: t.id({ required: true }),
    messageId: t.id({ required: true, description: "The assistant message holding the tool call." }),
    toolCallId: t.string({ required: true }),
    output: t.field({ type: "JSON", description: "The tool's result (any JSON but null)." }),
    errorText: t.string({ description: "Why the tool failed, for the model." }),
  }),
});

type Answer = { output: unknown; errorText?: undefined } | { output?: undefined; errorText: string };

function checkedInput(input: typeof ToolOutputInput.$inferInput, maxTextLength: number) {
  const schema = z.object({
    chatId: uuid,
    messageId: uuid,
    toolCallId: storable.min(1).max(200),
    errorText: textUpTo(maxTextLength).nullish(),
  });
  const result = schema.safeParse(input);
  if (!result.success) throw invalidInput(result.error.issues, ["input"]);
  const hasOutput = input.output !== undefined && input.output !== null;
  if (hasOutput === (result.data.errorText != null)) {
    throw invalidInput([{ message: "set exactly one of output and errorText", path: ["output"] }], ["input"]);
  }
  const answer: Answer = hasOutput ? { output: input.output } : { errorText: result.data.errorText! };
  return { ...result.data, answer };
}

/** `extensions.reason` of the refusal of a call answered already or run by the provider (clients that resend answers skip it). */
const NOT_WAITING = "tool_call_not_waiting";
const SETTLED_STATES = new Set<string>(["output-available", "output-error", "output-denied"]);

/** The parts with the call answered; refuses a call that is not waiting for its result. */
function answered(parts: UIMessage["parts"], toolCallId: string, answer: Answer): UIMessage["parts"] {
  const at = parts.findIndex((part) => isToolUIPart(part) && part.toolCallId === toolCallId);
  const part = parts[at];
  if (!part || !isToolUIPart(part)) {
    throw new ChatSDKError("not_found:chat", `The message has no tool call ${JSON.stringify(toolCallId)}.`);
  }
  if (part.state !== "input-available" || part.providerExecuted === true) {
    const why = part.providerExecuted === true ? "the provider runs it" : `its state is ${part.state}`;
    // Only a call with its result already (or the provider's own) is "answered": a client resending answers skips it.
    const settled = part.providerExecuted === true || SETTLED_STATES.has(part.state);
    throw new ChatSDKError(
      "bad_request:api",
      `The tool call is not waiting for a result from the client (${why}).`,
      settled ? { reason: NOT_WAITING } : undefined,
    );
  }
  const { output: _output, errorText: _errorText, ...call } = part as typeof part & Partial<Answer>;
  const settled =
    answer.errorText !== undefined
      ? { ...call, state: "output-error", errorText: answer.errorText }
      : { ...call, state: "output-available", output: answer.output };
  return parts.map((each, i) => (i === at ? (settled as UIMessage["parts"][number]) : each));
}

builder.mutationField("addToolOutput", (t) =>
  t.field({
    type: MessageRef,
    description:
      "Answers a tool call the model left to the client (a tool without execute: the turn finished with finishReason tool-calls and the call in state input-available): stores its output, or its errorText, on the assistant message, which the next turn's model sees. Owner only. A call still unanswered when the user sends the next message goes to the streamer as output-error.",
    args: { input: t.arg({ type: ToolOutputInput, required: true }) },
    resolve: async (_root, args, ctx) => {
      const input = checkedInput(args.input, ctx.env.MAX_TEXT_LENGTH);
      return inTransaction(ctx.db.prisma, "addToolOutput", async (tx) => {
        // In the queue of the user's message writers, before the chat: a turn starting
        // meanwhile either sees this answer or comes first and leaves the call unanswered (refused below).
        await lockUser(tx, currentUser(ctx).id);
        const chat = await lockChatById(tx, input.chatId);
        if (!chat) throw new ChatSDKError("not_found:chat");
        assertOwner(ctx, chat);
        const message = await tx.message.findUnique({ where: { id: input.messageId } });
        if (!message || message.chatId !== chat.id || message.role !== "assistant") {
          throw new ChatSDKError("not_found:chat", "The assistant message was not found in this chat.");
        }
        if (message.status === "streaming") {
          throw new ChatSDKError("bad_request:api", "The message is still being generated.");
        }
        const later = await tx.message.findFirst({
          where: { chatId: chat.id, createdAt: { gt: message.createdAt } },
          select: { id: true },
        });
        // The next turn's model was told the call went unanswered (unanswered-tools.ts).
        if (later) {
          throw new ChatSDKError(
            "bad_request:api",
            "The conversation went on past this tool call; the model was told it went unanswered.",
          );
        }
        const parts = answered(message.parts as UIMessage["parts"], input.toolCallId, input.answer);
        const [checked] = await validateUIMessages([{ id: message.id, role: "assistant", parts }], ctx.env);
        return tx.message.update({ where: { id: message.id }, data: { parts: checked.parts as never } });
      });
    },
  }),
);
