import {
  convertToModelMessages,
  createUIMessageStream,
  isStepCount,
  streamText,
  validateUIMessages,
  type FinishReason,
  type UIMessage,
  type UIMessageChunk,
} from "ai";
import type { Env } from "../config/env.ts";
import type { Usage } from "../turn/events.ts";
import { usageOf } from "../usage.ts";
import { resolveModel } from "./models.ts";
import { streamerTools } from "./tools.ts";

export type ChatTurnInput = {
  env: Pick<Env, "OPENAI_API_KEY" | "OPENAI_BASE_URL" | "MOCK_DELTA_DELAY_MS">;
  chatId: string;
  /** The new user message. */
  message: UIMessage;
  /** The chat's stored messages before `message`, oldest first. */
  existingMessages: UIMessage[];
  selectedChatModel: string;
  signal?: AbortSignal;
};

/** Sent as messageMetadata on the `finish` chunk. */
export type TurnMetadata = { usage: Usage | null; finishReason: FinishReason; model: string };

const INSTRUCTIONS = "You are a friendly assistant. Keep your responses concise and helpful.";

/** The whole chat the model sees: validated stored messages plus the new one. */
export function validateTurnMessages(existingMessages: UIMessage[], message: UIMessage): Promise<UIMessage[]> {
  return validateUIMessages({ messages: [...existingMessages, message] });
}

/**
 * One assistant turn as an AI SDK UI message stream: what `POST /api/chat/stream`
 * sends, and what the gateway's direct mode reads in-process.
 */
export function streamChatTurn(input: ChatTurnInput): ReadableStream<UIMessageChunk> {
  return createUIMessageStream({
    onError: errorText,
    execute: async ({ writer }) => {
      const messages = await validateTurnMessages(input.existingMessages, input.message);
      const model = resolveModel(input.env, input.selectedChatModel);
      const result = streamText({
        model,
        instructions: INSTRUCTIONS,
        // Stored partial turns may hold tool calls that never got a result.
        messages: await convertToModelMessages(messages, { tools: streamerTools, ignoreIncompleteToolCalls: true }),
        tools: streamerTools,
        stopWhen: isStepCount(2),
        abortSignal: input.signal,
        // The error reaches the gateway as an `error` chunk, which it logs.
        onError: () => {},
      });
      writer.merge(
        result.toUIMessageStream({
          generateMessageId: () => crypto.randomUUID(),
          onError: errorText,
          messageMetadata: ({ part }): TurnMetadata | undefined =>
            part.type === "finish"
              ? {
                  usage: usageOf(part.totalUsage, model.modelId),
                  finishReason: part.finishReason,
                  model: model.modelId,
                }
              : undefined,
        }),
      );
    },
  });
}

// The gateway is the one that decides what reaches end users; it needs the cause.
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
