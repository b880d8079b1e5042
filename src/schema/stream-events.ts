import type { ObjectFieldsShape, SchemaTypes } from "@pothos/core";
import type { Message } from "../generated/prisma/client.ts";
import type { ChatStreamEvent } from "../turn/events.ts";
import { builder } from "./builder.ts";
import { MessageRef } from "./message.ts";
import { UsageRef } from "./usage.ts";

/** An event as the subscription yields it: terminal events carry stored message rows. */
export type StreamEventShape = ChatStreamEvent<Message>;
type BuilderTypes = typeof builder extends PothosSchemaTypes.SchemaBuilder<infer T extends SchemaTypes> ? T : never;
type EventOf<N extends StreamEventShape["__typename"]> = Extract<StreamEventShape, { __typename: N }>;

const StreamEventInterface = builder.interfaceRef<StreamEventShape>("StreamEvent").implement({
  description: "Every stream event has `seq`: 0 for StreamStarted, then one more per event.",
  fields: (t) => ({ seq: t.exposeInt("seq") }),
});

/** One object type per event, implementing StreamEvent, recognised by `__typename`. */
function eventType<N extends StreamEventShape["__typename"]>(
  name: N,
  description: string,
  fields: ObjectFieldsShape<BuilderTypes, EventOf<N>>,
) {
  return builder.objectRef<EventOf<N>>(name).implement({
    description,
    interfaces: [StreamEventInterface],
    isTypeOf: (event) => (event as StreamEventShape).__typename === name,
    fields,
  });
}

const StreamStarted = eventType("StreamStarted", "Always first: the ids of what this turn stores.", (t) => ({
  streamId: t.exposeID("streamId"),
  chatId: t.exposeID("chatId"),
  userMessageId: t.exposeID("userMessageId"),
  assistantMessageId: t.exposeID("assistantMessageId"),
}));
const StepStarted = eventType("StepStarted", "A model step began.", () => ({}));
const StepFinished = eventType("StepFinished", "A model step ended.", () => ({}));
const StepReset = eventType(
  "StepReset",
  "The streamer dropped the current step (AI SDK reset-step): drop what was shown since the last StepStarted.",
  () => ({}),
);
const TextDelta = eventType("TextDelta", "Text to append to the text part `partId`.", (t) => ({
  partId: t.exposeString("partId"),
  delta: t.exposeString("delta"),
}));
const ReasoningDelta = eventType("ReasoningDelta", "Reasoning to append to the part `partId`.", (t) => ({
  partId: t.exposeString("partId"),
  delta: t.exposeString("delta"),
}));
const ToolInputStarted = eventType("ToolInputStarted", "A tool call began; its input streams next.", (t) => ({
  toolCallId: t.exposeString("toolCallId"),
  toolName: t.exposeString("toolName"),
}));
const ToolInputDelta = eventType("ToolInputDelta", "A piece of the tool call's JSON input text.", (t) => ({
  toolCallId: t.exposeString("toolCallId"),
  delta: t.exposeString("delta"),
}));
const ToolInputAvailable = eventType("ToolInputAvailable", "The tool call's complete input.", (t) => ({
  toolCallId: t.exposeString("toolCallId"),
  toolName: t.exposeString("toolName"),
  input: t.field({ type: "JSON", nullable: true, resolve: (e) => e.input }),
}));
const ToolOutputAvailable = eventType("ToolOutputAvailable", "The tool's result.", (t) => ({
  toolCallId: t.exposeString("toolCallId"),
  output: t.field({ type: "JSON", nullable: true, resolve: (e) => e.output }),
  preliminary: t.exposeBoolean("preliminary", {
    description: "An interim result of a streaming tool; a later one replaces it.",
  }),
}));
const ToolOutputError = eventType("ToolOutputError", "The tool call failed.", (t) => ({
  toolCallId: t.exposeString("toolCallId"),
  errorText: t.exposeString("errorText"),
}));
const ToolApprovalRequested = eventType(
  "ToolApprovalRequested",
  "The tool call waits for the user's approval (AI SDK `needsApproval`); the turn ends with it waiting.",
  (t) => ({
    toolCallId: t.exposeString("toolCallId"),
    approvalId: t.exposeID("approvalId"),
    requestReason: t.exposeString("requestReason", { nullable: true, description: "Why the tool asks, when it says." }),
    isAutomatic: t.exposeBoolean("isAutomatic", {
      description: "Asked by the streamer's own rule, which answers it too.",
    }),
  }),
);
const ToolApprovalResponded = eventType(
  "ToolApprovalResponded",
  "The approval asked for in this turn was answered by the streamer's own rule (isAutomatic).",
  (t) => ({
    toolCallId: t.exposeString("toolCallId"),
    approvalId: t.exposeID("approvalId"),
    approved: t.exposeBoolean("approved"),
    responseReason: t.exposeString("responseReason", { nullable: true, description: "Why, when it says." }),
  }),
);
const ToolOutputDenied = eventType("ToolOutputDenied", "The user denied the tool call; it did not run.", (t) => ({
  toolCallId: t.exposeString("toolCallId"),
}));
const SourceUrl = eventType("SourceUrl", "A source the answer cites.", (t) => ({
  sourceId: t.exposeString("sourceId"),
  url: t.exposeString("url"),
  title: t.exposeString("title", { nullable: true }),
}));
const DataDelta = eventType("DataDelta", "A custom `data-<name>` part.", (t) => ({
  name: t.exposeString("name"),
  id: t.exposeString("id", { nullable: true }),
  data: t.field({ type: "JSON", nullable: true, resolve: (e) => e.data }),
  transient: t.exposeBoolean("transient", { description: "Shown live only; not part of the stored message." }),
}));
const StreamFinished = eventType(
  "StreamFinished",
  "Terminal: the assistant turn is stored; `message` is what a later `chat` query returns.",
  (t) => ({
    message: t.field({ type: MessageRef, resolve: (e) => e.message }),
    usage: t.field({ type: UsageRef, nullable: true, resolve: (e) => e.usage }),
    finishReason: t.exposeString("finishReason", {
      description:
        "The AI SDK's: stop, length, tool-calls, ... When the streamer named none (AI SDK 5's finish chunk has none): tool-calls when the answer waits for a client's tool output, else unknown.",
    }),
  }),
);
const StreamAborted = eventType(
  "StreamAborted",
  "Terminal: stopped (stopStream, deleteChat, an edit past the turn, a shutdown, or the streamer's abort); the partial turn is stored as ABORTED.",
  (t) => ({
    reason: t.exposeString("reason"),
    partialMessage: t.field({
      type: MessageRef,
      nullable: true,
      description:
        "The stored partial answer; null when nothing arrived before the stop, or when its chat was deleted or the conversation edited back past it (the answer went with them).",
      resolve: (e) => e.partialMessage,
    }),
  }),
);
const StreamFailed = eventType(
  "StreamFailed",
  "Terminal: an upstream or database failure; any partial turn received is stored as FAILED.",
  (t) => ({
    code: t.exposeString("code", { description: "A Chat SDK error code, e.g. offline:chat." }),
    reason: t.exposeString("reason"),
    partialMessage: t.field({
      type: MessageRef,
      nullable: true,
      resolve: (e) => e.partialMessage,
    }),
  }),
);

export const ChatStreamEventUnion = builder.unionType("ChatStreamEvent", {
  description: "One event of a turn. StreamStarted first; exactly one terminal event last.",
  types: [
    StreamStarted,
    StepStarted,
    StepFinished,
    StepReset,
    TextDelta,
    ReasoningDelta,
    ToolInputStarted,
    ToolInputDelta,
    ToolInputAvailable,
    ToolOutputAvailable,
    ToolOutputError,
    ToolApprovalRequested,
    ToolApprovalResponded,
    ToolOutputDenied,
    SourceUrl,
    DataDelta,
    StreamFinished,
    StreamAborted,
    StreamFailed,
  ],
  resolveType: (event) => event.__typename,
});
