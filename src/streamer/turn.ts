import {
  convertToModelMessages,
  createUIMessageStream,
  isStepCount,
  streamText,
  validateUIMessages,
  type FinishReason,
  type ModelMessage,
  type SystemModelMessage,
  type UIMessage,
  type UIMessageChunk,
} from "ai";
import type { Env } from "../config/env.ts";
import type { Usage } from "../turn/events.ts";
import { usageOf } from "../usage.ts";
import { resolveHistoryFiles } from "./history-files.ts";
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
      // Stored partial turns may hold tool calls that never got a result.
      const converted = await convertToModelMessages(messages, {
        tools: streamerTools,
        ignoreIncompleteToolCalls: true,
      });
      const prompt = await promptOf(converted, {
        supportedUrls: await model.supportedUrls,
        chatId: input.chatId,
        abortSignal: input.signal,
      });
      const result = streamText({
        model,
        instructions: prompt.instructions,
        messages: prompt.messages,
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

/**
 * The call's instructions and messages. System messages stored in the chat
 * (saveMessages takes them) follow the streamer's own instructions, in their
 * order: ai v7 refuses system messages among `messages` once `instructions`
 * is set, and instructions are where every provider takes them. Files of
 * earlier messages the model would have to download are fetched first, and
 * left out when they cannot be (see history-files.ts).
 */
export async function promptOf(
  converted: ModelMessage[],
  options: Omit<Parameters<typeof resolveHistoryFiles>[1], "download">,
): Promise<{ instructions: SystemModelMessage[]; messages: ModelMessage[] }> {
  const system = converted.filter((m): m is SystemModelMessage => m.role === "system");
  const rest = converted.filter((m) => m.role !== "system");
  // The last message is the new user message: its files are the SDK's to fetch.
  const history = await resolveHistoryFiles(rest.slice(0, -1), options);
  return {
    instructions: [{ role: "system", content: INSTRUCTIONS }, ...system],
    messages: [...history, ...rest.slice(-1)],
  };
}

// The gateway is the one that decides what reaches end users; it needs the cause.
function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
