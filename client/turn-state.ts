// One turn's state as a UI holds it: its status, the user's and the live
// assistant message, where a resume continues from; and what a turn starts
// from (a sent message, or a resume). client/stream.ts folds the events into
// it. Every type here is derived from the generated documents.
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
  /**
   * Why it failed; `network`: the connection was lost for good (resumeTurn, or the hook's resume(), can try again);
   * `reason`: a refusal's `extensions.reason` (e.g. `too_many_running_turns`).
   */
  error: { code: string; message: string; network?: boolean; reason?: string } | null;
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
      // As the gateway answers it: ids are the same in any case, and it answers them in lower case.
      id: input.message.id.toLowerCase(),
      chatId: input.chatId.toLowerCase(),
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
    error: { code: error.code, message: error.message, ...(error.reason ? { reason: error.reason } : {}) },
    message: state.message && { ...state.message, status: "FAILED" },
  };
}

/** StreamFinished, StreamAborted or StreamFailed: the last event of a stream. */
export function isTerminalEvent(event: StreamEvent): boolean {
  return ["StreamFinished", "StreamAborted", "StreamFailed"].includes(event.__typename);
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
