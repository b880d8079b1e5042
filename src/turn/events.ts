// The ChatStreamEvent union of contract.graphql as plain objects; `__typename`
// lets the GraphQL union resolve them. JSON fields are `unknown`; absent
// nullable fields are `null` (never `undefined`) so replayed lists compare equal.
import type { UIMessage } from "ai";

export type MessageStatus = "COMPLETE" | "STREAMING" | "ABORTED" | "FAILED";

export type TurnMessage = {
  id: string;
  chatId: string;
  role: "user" | "assistant" | "system";
  parts: UIMessage["parts"];
  status: MessageStatus;
  createdAt: Date;
};

/** Null where the streamer did not report a figure; never an invented zero. */
export type Usage = {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  reasoningTokens: number | null;
  cachedInputTokens: number | null;
  model: string | null;
};

export type StreamStarted = {
  __typename: "StreamStarted";
  seq: number;
  streamId: string;
  chatId: string;
  userMessageId: string;
  assistantMessageId: string;
};
export type StepStarted = { __typename: "StepStarted"; seq: number };
export type StepFinished = { __typename: "StepFinished"; seq: number };
/**
 * Not in contract.graphql yet: the streamer dropped every part of the current
 * step (AI SDK `reset-step`), so a client must drop what it showed since the
 * last StepStarted.
 */
export type StepReset = { __typename: "StepReset"; seq: number };
export type TextDelta = { __typename: "TextDelta"; seq: number; partId: string; delta: string };
export type ReasoningDelta = { __typename: "ReasoningDelta"; seq: number; partId: string; delta: string };
export type ToolInputStarted = { __typename: "ToolInputStarted"; seq: number; toolCallId: string; toolName: string };
export type ToolInputDelta = { __typename: "ToolInputDelta"; seq: number; toolCallId: string; delta: string };
export type ToolInputAvailable = {
  __typename: "ToolInputAvailable";
  seq: number;
  toolCallId: string;
  toolName: string;
  input: unknown;
};
export type ToolOutputAvailable = {
  __typename: "ToolOutputAvailable";
  seq: number;
  toolCallId: string;
  output: unknown;
  /** Extra field: a streaming tool's interim output; a later one replaces it. */
  preliminary: boolean;
};
/** Extra event: the tool call waits for the user's approval (AI SDK `needsApproval`). */
export type ToolApprovalRequested = {
  __typename: "ToolApprovalRequested";
  seq: number;
  toolCallId: string;
  approvalId: string;
  /** Why the tool asks (the AI SDK's approval `requestReason`). */
  requestReason: string | null;
  /** Asked by the streamer's own rule, which answers it too. */
  isAutomatic: boolean;
};
/** Extra event: an approval asked for in this turn was answered (by the streamer's own rule). */
export type ToolApprovalResponded = {
  __typename: "ToolApprovalResponded";
  seq: number;
  toolCallId: string;
  approvalId: string;
  approved: boolean;
  /** Why it was approved or denied (the AI SDK's approval `reason`). */
  responseReason: string | null;
};
/** Extra event: the user denied the tool call; it did not run. */
export type ToolOutputDenied = { __typename: "ToolOutputDenied"; seq: number; toolCallId: string };
export type ToolOutputError = { __typename: "ToolOutputError"; seq: number; toolCallId: string; errorText: string };
export type SourceUrl = { __typename: "SourceUrl"; seq: number; sourceId: string; url: string; title: string | null };
export type DataDelta = {
  __typename: "DataDelta";
  seq: number;
  name: string;
  id: string | null;
  data: unknown;
  /** Extra field: shown live, never part of the stored message. */
  transient: boolean;
};

export type StreamFinished<TMessage = TurnMessage> = {
  __typename: "StreamFinished";
  seq: number;
  message: TMessage;
  usage: Usage | null;
  finishReason: string;
};
export type StreamAborted<TMessage = TurnMessage> = {
  __typename: "StreamAborted";
  seq: number;
  reason: string;
  partialMessage: TMessage | null;
};
export type StreamFailed<TMessage = TurnMessage> = {
  __typename: "StreamFailed";
  seq: number;
  code: string;
  reason: string;
  partialMessage: TMessage | null;
};

/** The events that come from streamer chunks, between StreamStarted and the terminal one. */
export type ChunkEvent =
  | StepStarted
  | StepFinished
  | StepReset
  | TextDelta
  | ReasoningDelta
  | ToolInputStarted
  | ToolInputDelta
  | ToolInputAvailable
  | ToolOutputAvailable
  | ToolOutputError
  | ToolApprovalRequested
  | ToolApprovalResponded
  | ToolOutputDenied
  | SourceUrl
  | DataDelta;

export type TerminalEvent<TMessage = TurnMessage> =
  | StreamFinished<TMessage>
  | StreamAborted<TMessage>
  | StreamFailed<TMessage>;

export type ChatStreamEvent<TMessage = TurnMessage> = StreamStarted | ChunkEvent | TerminalEvent<TMessage>;

/** An event before the turn's counter has numbered it. */
export type WithoutSeq<E> = E extends unknown ? Omit<E, "seq"> : never;
export type ChunkEventDraft = WithoutSeq<ChunkEvent>;
