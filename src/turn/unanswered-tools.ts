import { isToolUIPart, type UIMessage } from "ai";

export const unansweredToolError = "The user went on without answering this tool call.";

/**
 * The chat's history as the streamer gets it: a tool call the model left to
 * the client (a tool without `execute`, finish reason "tool-calls") that got
 * no result before the user sent the next message goes as "output-error".
 * Sent as "input-available", the AI SDK refuses the whole history
 * (AI_MissingToolResultsError) and every later turn of the chat fails. The
 * stored message keeps the call as the model left it; addToolOutput answers it.
 */
export function closeUnansweredToolCalls(messages: UIMessage[]): UIMessage[] {
  return messages.map((message) =>
    message.role === "assistant" && message.parts.some(lacksItsResult)
      ? { ...message, parts: message.parts.map((part) => (lacksItsResult(part) ? closed(part) : part)) }
      : message,
  );
}

type Part = UIMessage["parts"][number];

function isUnanswered(part: Part): boolean {
  return isToolUIPart(part) && part.state === "input-available" && part.providerExecuted !== true;
}

/**
 * A tool call the next model call would find without its result, which the AI
 * SDK refuses ("Tool result is missing"): one left to the client, or one
 * approved (by the user, or the streamer's own rule) whose turn ended before it
 * ran. A denied call has its result (the denial); one still asking for
 * approval is dropped by the AI SDK itself.
 */
export function lacksItsResult(part: Part): boolean {
  if (!isToolUIPart(part) || part.providerExecuted === true) return false;
  return part.state === "input-available" || (part.state === "approval-responded" && part.approval.approved === true);
}

function closed(part: Part): Part {
  return { ...part, state: "output-error", errorText: unansweredToolError } as Part;
}

/**
 * StreamFinished.finishReason when the streamer's `finish` chunk named none
 * (AI SDK 5's has none): "tool-calls" when the answer waits for a client's
 * tool output, as the model's own reason was, else "unknown", never a guess.
 */
export function impliedFinishReason(message: UIMessage | null): string {
  return message?.parts.some(isUnanswered) ? "tool-calls" : "unknown";
}
