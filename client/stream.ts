// One turn's stream folded into the live assistant message as events arrive,
// whether they come from sendMessage or from resumeStream (the same fields,
// the same seq). The live message has the stored message's shape
// (MessageFields), so a UI renders a streaming answer and a stored one with the
// same code. Every type here is derived from the generated documents.
import {
  newId,
  type ChatMessage,
  type MessagePart,
  type MessagePartOf,
  type StreamEvent,
  type TurnState,
} from "./turn-state.ts";

export * from "./turn-state.ts";

function withParts(
  state: TurnState,
  parts: MessagePart[],
  partIndex = state.partIndex,
  stepStart = state.stepStart,
): TurnState {
  const message = state.message ?? liveMessage(state, newId());
  return { ...state, message: { ...message, parts }, partIndex, stepStart };
}

function liveMessage(state: TurnState, id: string): ChatMessage {
  return {
    id,
    chatId: state.chatId,
    role: "ASSISTANT",
    status: "STREAMING",
    createdAt: new Date().toISOString(),
    parts: [],
  };
}

/** Appends to (or creates) the part keyed `key`, through `update`. */
function upsertPart(
  state: TurnState,
  key: string,
  create: () => MessagePart,
  update: (part: MessagePart) => MessagePart,
): TurnState {
  const parts = [...(state.message?.parts ?? [])];
  const at = state.partIndex[key];
  if (at === undefined) {
    parts.push(update(create()));
    return withParts(state, parts, { ...state.partIndex, [key]: parts.length - 1 });
  }
  parts[at] = update(parts[at]);
  return withParts(state, parts);
}

function toolPart(toolCallId: string, toolName: string): MessagePartOf<"ToolPart"> {
  return {
    __typename: "ToolPart",
    toolCallId,
    toolName,
    state: "input-streaming",
    input: null,
    output: null,
    errorText: null,
    approval: null,
  };
}

function asTool(part: MessagePart, toolCallId: string): MessagePartOf<"ToolPart"> {
  return part.__typename === "ToolPart" ? part : toolPart(toolCallId, "unknown");
}

/**
 * Folds one event into the turn. Pure: returns a new state (fit for React
 * state). An event at or before `state.seq` was folded already (a resume
 * overlapping what was seen) and leaves the state as it is.
 */
export function applyStreamEvent(state: TurnState, event: StreamEvent): TurnState {
  if (event.seq <= state.seq) return state;
  const waiting = state.status === "submitted" || state.status === "resuming";
  const next = { ...state, seq: event.seq, status: waiting ? ("streaming" as const) : state.status };
  switch (event.__typename) {
    case "StreamStarted":
      // A replay from the start rebuilds the message (a stored snapshot of it is replaced).
      return {
        ...next,
        streamId: event.streamId,
        partIndex: {},
        stepStart: -1,
        transientData: [],
        message: liveMessage(next, event.assistantMessageId),
      };
    case "StepStarted": {
      const parts = [...(next.message?.parts ?? []), { __typename: "StepStartPart" as const, stepStart: true }];
      return withParts(next, parts, next.partIndex, parts.length - 1);
    }
    case "StepReset": {
      // Drop what the current step showed (the step boundary itself stays).
      const keep = next.stepStart + 1;
      const parts = (next.message?.parts ?? []).slice(0, keep);
      const partIndex = Object.fromEntries(Object.entries(next.partIndex).filter(([, index]) => index < keep));
      return withParts(next, parts, partIndex);
    }
    case "StepFinished":
      return next;
    case "TextDelta":
      return upsertPart(
        next,
        `text:${event.partId}`,
        () => ({ __typename: "TextPart", text: "" }),
        (part) => (part.__typename === "TextPart" ? { ...part, text: part.text + event.delta } : part),
      );
    case "ReasoningDelta":
      return upsertPart(
        next,
        `reasoning:${event.partId}`,
        () => ({ __typename: "ReasoningPart", text: "" }),
        (part) => (part.__typename === "ReasoningPart" ? { ...part, text: part.text + event.delta } : part),
      );
    case "ToolInputStarted":
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, event.toolName),
        (part) => part,
      );
    case "ToolInputDelta":
      // While it streams, `input` holds the raw JSON text received so far.
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, "unknown"),
        (part) => {
          const tool = asTool(part, event.toolCallId);
          return { ...tool, input: (typeof tool.input === "string" ? tool.input : "") + event.delta };
        },
      );
    case "ToolInputAvailable":
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, event.toolName),
        (part) => ({
          ...asTool(part, event.toolCallId),
          toolName: event.toolName,
          state: "input-available",
          input: event.input,
        }),
      );
    case "ToolOutputAvailable":
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, "unknown"),
        (part) => ({ ...asTool(part, event.toolCallId), state: "output-available", output: event.output }),
      );
    case "ToolOutputError":
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, "unknown"),
        (part) => ({ ...asTool(part, event.toolCallId), state: "output-error", errorText: event.errorText }),
      );
    case "ToolApprovalRequested":
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, "unknown"),
        (part) => ({
          ...asTool(part, event.toolCallId),
          state: "approval-requested",
          approval: {
            ...NO_APPROVAL,
            id: event.approvalId,
            requestReason: event.requestReason,
            isAutomatic: event.isAutomatic || null,
          },
        }),
      );
    case "ToolApprovalResponded":
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, "unknown"),
        (part) => {
          const tool = asTool(part, event.toolCallId);
          const approval = {
            ...NO_APPROVAL,
            ...tool.approval,
            id: event.approvalId,
            approved: event.approved,
            reason: event.responseReason,
          };
          return { ...tool, state: "approval-responded", approval };
        },
      );
    case "ToolOutputDenied":
      return upsertPart(
        next,
        `tool:${event.toolCallId}`,
        () => toolPart(event.toolCallId, "unknown"),
        (part) => ({ ...asTool(part, event.toolCallId), state: "output-denied" }),
      );
    case "SourceUrl":
      return upsertPart(
        next,
        `source:${event.sourceId}`,
        () => ({ __typename: "SourceUrlPart", sourceId: event.sourceId, url: event.url, title: event.title }),
        (part) => part,
      );
    case "DataDelta": {
      if (event.transient) return { ...next, transientData: [...next.transientData, event] };
      const part: MessagePart = { __typename: "DataPart", name: event.name, id: event.id, data: event.data };
      // A data part with an id replaces the earlier one with the same name and id.
      if (event.id === null) return withParts(next, [...(next.message?.parts ?? []), part]);
      return upsertPart(
        next,
        `data:${event.name}:${event.id}`,
        () => part,
        () => part,
      );
    }
    case "StreamFinished":
      return {
        ...next,
        status: "finished",
        message: event.message,
        usage: event.usage,
        finishReason: event.finishReason,
      };
    case "StreamAborted":
      return {
        ...next,
        status: "stopped",
        message: event.partialMessage ?? keptAs(next.message, "ABORTED"),
      };
    case "StreamFailed":
      return {
        ...next,
        status: "failed",
        error: { code: event.code, message: event.reason },
        message: event.partialMessage ?? keptAs(next.message, "FAILED"),
      };
    default:
      // An event type of a newer gateway: its part arrives with the stored message.
      return next;
  }
}

const NO_APPROVAL = { id: "", approved: null, requestReason: null, reason: null, isAutomatic: null };

/**
 * What the UI keeps of a stopped or failed turn the gateway sent no stored
 * message for: the live message when it showed anything, by the gateway's
 * rule for storing one (step boundaries and text or reasoning with no text
 * yet are not an answer: the gateway stores none).
 */
function keptAs(message: ChatMessage | null, status: "ABORTED" | "FAILED"): ChatMessage | null {
  const showsAnything = message?.parts.some(
    (part) =>
      part.__typename !== "StepStartPart" &&
      !((part.__typename === "TextPart" || part.__typename === "ReasoningPart") && part.text === ""),
  );
  return showsAnything ? { ...message!, status } : null;
}
