// One turn's stream folded into the live assistant message as events arrive,
// whether they come from sendMessage or from resumeStream (the same fields,
// the same seq). The live message has the stored message's shape
// (MessageFields), so a UI renders a streaming answer and a stored one with the
// same code. Every type here is derived from the generated documents.
import type { GatewayError } from "./core.ts";
import type {
  MessageFieldsFragment,
  SendMessageInput,
  StreamEventFieldsFragment,
  UserPartInput,
} from "./generated/graphql.ts";

/** One event of the stream: a discriminated union on `__typename`. */
export type StreamEvent = StreamEventFieldsFragment;
export type StreamEventOf<T extends StreamEvent["__typename"]> = Extract<StreamEvent, { __typename: T }>;
/** A stored (or live) message, as the Chat query and the terminal events return it. */
export type ChatMessage = MessageFieldsFragment;
export type MessagePart = ChatMessage["parts"][number];
export type MessagePartOf<T extends MessagePart["__typename"]> = Extract<MessagePart, { __typename: T }>;
export type Usage = StreamEventOf<"StreamFinished">["usage"];

/**
 * submitted: sent, no event yet. resuming: (re)connecting to a running turn
 * with resumeStream, after a reload or a dropped connection. streaming: events
 * arriving. finished: the answer is stored (StreamFinished). stopped:
 * StreamAborted (stopStream). failed: StreamFailed, a refusal (quota, auth, bad
 * input) before any event, or the connection lost for good. ended: there was
 * no turn left to resume (it ended longer ago than the gateway keeps turns):
 * the chat's stored messages hold its outcome.
 */
export type TurnStatus = "submitted" | "resuming" | "streaming" | "finished" | "stopped" | "failed" | "ended";

export interface TurnState {
  status: TurnStatus;
  chatId: string;
  /** The user's message as sent (stored once StreamStarted arrives); null for a resumed turn (it is in the chat). */
  userMessage: ChatMessage | null;
  /** The assistant's message: null until StreamStarted, then live, then as stored. */
  message: ChatMessage | null;
  /** Why it failed; `network`: the connection was lost for good (resumeTurn, or the hook's resume(), can try again). */
  error: { code: string; message: string; network?: boolean } | null;
  usage: Usage | null;
  finishReason: string | null;
  /** The last event's seq (-1 before any): where a resume continues from. */
  seq: number;
  /** StreamStarted.streamId once it arrived: a resume asks for this turn, not a newer one of the chat. */
  streamId: string | null;
  /** Transient data parts (`DataDelta` with transient: true): shown live, never stored. */
  transientData: StreamEventOf<"DataDelta">[];
  /** Where each text/reasoning part id and tool call id sits in message.parts. */
  partIndex: Readonly<Record<string, number>>;
  /** Index of the current step's StepStartPart (StepReset drops what follows it). */
  stepStart: number;
}

/** What `send` accepts: a text, or the input's parts. */
export type MessageContent = string | UserPartInput[];

function partsOf(content: MessageContent): UserPartInput[] {
  return typeof content === "string" ? [{ text: content }] : content;
}

export function newId(): string {
  return globalThis.crypto.randomUUID();
}

/** The state right after sending, before any event. */
export function startTurn(input: SendMessageInput): TurnState {
  return {
    ...emptyTurn(input.chatId),
    userMessage: {
      id: input.message.id,
      chatId: input.chatId,
      role: "USER",
      status: "COMPLETE",
      createdAt: new Date().toISOString(),
      parts: input.message.parts.map(
        (part): MessagePart =>
          part.file
            ? {
                __typename: "FilePart",
                mediaType: part.file.mediaType,
                url: part.file.url,
                filename: part.file.filename ?? null,
              }
            : { __typename: "TextPart", text: part.text ?? "" },
      ),
    },
  };
}

function emptyTurn(chatId: string): TurnState {
  return {
    status: "submitted",
    chatId,
    userMessage: null,
    message: null,
    error: null,
    usage: null,
    finishReason: null,
    seq: -1,
    streamId: null,
    transientData: [],
    partIndex: {},
    stepStart: -1,
  };
}

/**
 * The state of a turn followed with resumeStream from its start: after a
 * reload, `message` is the chat's stored STREAMING message, shown until the
 * replay rebuilds it from StreamStarted.
 */
export function resumeState(chatId: string, message: ChatMessage | null = null): TurnState {
  return { ...emptyTurn(chatId), status: "resuming", userMessage: null, message };
}

/** The SendMessageInput for a text (or parts), with fresh ids where none are given. */
export function sendMessageInput(
  chatId: string,
  content: MessageContent,
  extra: Partial<SendMessageInput> & { messageId?: string } = {},
): SendMessageInput {
  const { messageId, ...rest } = extra;
  return { ...rest, chatId, message: { id: messageId ?? newId(), parts: partsOf(content) } };
}

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
        message: event.partialMessage ?? (next.message && { ...next.message, status: "ABORTED" }),
      };
    case "StreamFailed":
      return {
        ...next,
        status: "failed",
        error: { code: event.code, message: event.reason },
        message:
          event.partialMessage ??
          (next.message && next.message.parts.length > 0 ? { ...next.message, status: "FAILED" } : null),
      };
  }
}

/**
 * A refusal (GraphQL error before any event) or a connection lost for good,
 * folded into the turn. A lost connection leaves the message as it was: the
 * turn goes on at the gateway, and a resume shows the rest.
 */
export function failTurn(state: TurnState, error: GatewayError): TurnState {
  if (isDone(state)) return state;
  if (error.network)
    return { ...state, status: "failed", error: { code: error.code, message: error.message, network: true } };
  return {
    ...state,
    status: "failed",
    error: { code: error.code, message: error.message },
    message: state.message && { ...state.message, status: "FAILED" },
  };
}

export function isDone(state: TurnState | null): boolean {
  return state !== null && ["finished", "stopped", "failed", "ended"].includes(state.status);
}

/**
 * The chat's stored messages with the turn's live ones: the live assistant
 * message takes the place of its stored snapshot (a STREAMING message loaded
 * before a resume), and the turn's messages not stored yet come last.
 */
export function withLiveMessages(stored: readonly ChatMessage[], turn: TurnState | null): ChatMessage[] {
  const live = turn?.message ?? null;
  const merged = stored.map((m) => (live && m.id === live.id ? live : m));
  const storedIds = new Set(stored.map((m) => m.id));
  const unstored = [turn?.userMessage ?? null, live].filter(
    (m): m is ChatMessage => m !== null && !storedIds.has(m.id),
  );
  return [...merged, ...unstored];
}
