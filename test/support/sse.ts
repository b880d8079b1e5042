// Subscribing to the gateway's sendMessage over SSE, two ways: a plain fetch with
// `accept: text/event-stream` (frames parsed here) and the graphql-sse client
// (distinct connections mode). Plus the operations and selections the
// streaming-turn tests share.
import { randomUUID } from "node:crypto";
import { createClient } from "graphql-sse";
import type { GraphQLResult } from "./gateway.ts";

export const MESSAGE_FIELDS = /* GraphQL */ `
  fragment MessageFields on Message {
    id
    chatId
    role
    status
    createdAt
    parts {
      __typename
      ... on TextPart { text }
      ... on ReasoningPart { text }
      ... on ToolPart { toolCallId toolName state input output errorText }
      ... on FilePart { mediaType url filename }
      ... on ReasoningFilePart { mediaType url }
      ... on CustomPart { kind providerMetadata }
      ... on SourceUrlPart { sourceId url title }
      ... on SourceDocumentPart { sourceId mediaType title filename }
      ... on DataPart { name id data }
      ... on StepStartPart { stepStart }
    }
  }
`;

export const USAGE_FIELDS = /* GraphQL */ `
  fragment UsageFields on Usage { inputTokens outputTokens totalTokens reasoningTokens cachedInputTokens model }
`;

const EVENT_FIELDS = /* GraphQL */ `
  __typename
  ... on StreamEvent { seq }
  ... on StreamStarted { streamId chatId userMessageId assistantMessageId }
  ... on TextDelta { partId delta }
  ... on ReasoningDelta { partId delta }
  ... on ToolInputStarted { toolCallId toolName }
  ... on ToolInputDelta { toolCallId delta }
  ... on ToolInputAvailable { toolCallId toolName input }
  ... on ToolOutputAvailable { toolCallId output }
  ... on ToolOutputError { toolCallId errorText }
  ... on ToolApprovalRequested { toolCallId approvalId requestReason isAutomatic }
  ... on ToolApprovalResponded { toolCallId approvalId approved responseReason }
  ... on ToolOutputDenied { toolCallId }
  ... on SourceUrl { sourceId url title }
  ... on DataDelta { name id data }
  ... on StreamFinished { finishReason usage { ...UsageFields } message { ...MessageFields } }
  ... on StreamAborted { reason partialMessage { ...MessageFields } }
  ... on StreamFailed { code reason partialMessage { ...MessageFields } }
`;

export const SEND_MESSAGE = /* GraphQL */ `
  subscription Send($input: SendMessageInput!) {
    sendMessage(input: $input) { ${EVENT_FIELDS} }
  }
  ${MESSAGE_FIELDS}
  ${USAGE_FIELDS}
`;

/** resumeStream with the same selection as SEND_MESSAGE, so the two streams compare equal. */
export const RESUME_STREAM = /* GraphQL */ `
  subscription Resume($chatId: ID!, $afterSeq: Int, $streamId: ID) {
    resumeStream(chatId: $chatId, afterSeq: $afterSeq, streamId: $streamId) { ${EVENT_FIELDS} }
  }
  ${MESSAGE_FIELDS}
  ${USAGE_FIELDS}
`;

export const CHAT_WITH_MESSAGES = /* GraphQL */ `
  query ChatWithMessages($id: ID!) {
    chat(id: $id) {
      id
      title
      visibility
      lastContext { ...UsageFields }
      messages { edges { node { ...MessageFields } } }
    }
  }
  ${MESSAGE_FIELDS}
  ${USAGE_FIELDS}
`;

export const STOP_STREAM = /* GraphQL */ `
  mutation Stop($chatId: ID!) { stopStream(chatId: $chatId) }
`;

/** A loose view of an event as selected by SEND_MESSAGE. */
export type StreamEvent = { __typename: string; seq: number } & Record<string, any>;

export const TERMINAL_TYPES = ["StreamFinished", "StreamAborted", "StreamFailed"];

/** The variables of one sendMessage turn with a single text part. */
export function sendInput(
  text: string,
  options: { chatId?: string; messageId?: string; model?: string; visibility?: "PUBLIC" | "PRIVATE" } = {},
) {
  return {
    input: {
      chatId: options.chatId ?? randomUUID(),
      message: { id: options.messageId ?? randomUUID(), parts: [{ text }] },
      ...(options.model ? { model: options.model } : {}),
      ...(options.visibility ? { visibility: options.visibility } : {}),
    },
  };
}

export type SseFrame = { event: string; data: string };

export interface SseSubscription {
  status: number;
  contentType: string | null;
  /** Every frame but comments, in order. */
  frames: SseFrame[];
  /** The JSON payloads of the `next` frames. */
  results: GraphQLResult[];
  /** The `sendMessage` events among them. */
  events: StreamEvent[];
  completed: boolean;
  /** True when the caller's signal ended the read. */
  aborted: boolean;
}

/** Splits an SSE body into frames, dropping `:` comments (pings). */
export function parseSseFrames(text: string): { frames: SseFrame[]; rest: string } {
  const frames: SseFrame[] = [];
  const blocks = text.replace(/\r\n/g, "\n").split("\n\n");
  const rest = blocks.pop() ?? "";
  for (const block of blocks) {
    let event = "message";
    const data: string[] = [];
    for (const line of block.split("\n")) {
      if (line === "" || line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") event = value;
      else if (field === "data") data.push(value);
    }
    if (data.length > 0 || event !== "message") frames.push({ event, data: data.join("\n") });
  }
  return { frames, rest };
}

/**
 * Subscribes with a plain fetch (`accept: text/event-stream`) and reads until
 * `complete`, the end of the body, or `signal`. `onEvent` sees each event as it
 * arrives (to abort mid-way, for instance).
 */
export async function subscribeWithFetch(
  baseUrl: string,
  variables: Record<string, unknown>,
  options: {
    token?: string | null;
    headers?: Record<string, string>;
    query?: string;
    operationName?: string;
    signal?: AbortSignal;
    onEvent?: (event: StreamEvent, all: StreamEvent[]) => void;
    /** An undici dispatcher of its own (a connection of its own, say); fetch's shared pool by default. */
    dispatcher?: unknown;
  } = {},
): Promise<SseSubscription> {
  const result: SseSubscription = {
    status: 0,
    contentType: null,
    frames: [],
    results: [],
    events: [],
    completed: false,
    aborted: false,
  };
  try {
    const response = await fetch(`${baseUrl}/graphql`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      body: JSON.stringify({ query: options.query ?? SEND_MESSAGE, variables, operationName: options.operationName }),
      signal: options.signal,
      ...(options.dispatcher ? { dispatcher: options.dispatcher } : {}),
    } as RequestInit);
    result.status = response.status;
    result.contentType = response.headers.get("content-type");
    const decoder = new TextDecoder();
    let buffer = "";
    const reader = response.body!.getReader();
    while (!result.completed) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      const parsed = parseSseFrames(buffer);
      buffer = parsed.rest;
      for (const frame of parsed.frames) {
        result.frames.push(frame);
        if (frame.event === "complete") {
          result.completed = true;
        } else if (frame.event === "next") {
          const payload = JSON.parse(frame.data) as GraphQLResult;
          result.results.push(payload);
          const event = (payload.data?.sendMessage ?? payload.data?.resumeStream) as StreamEvent | undefined;
          if (event) {
            result.events.push(event);
            options.onEvent?.(event, result.events);
          }
        }
      }
    }
    if (result.completed) await reader.cancel().catch(() => {});
  } catch (error) {
    if (!options.signal?.aborted) throw error;
    result.aborted = true;
  }
  return result;
}

export interface ClientSubscription {
  results: GraphQLResult[];
  events: StreamEvent[];
  /** Set when the client's sink got an error instead of completing. */
  error: unknown;
}

/** Subscribes with graphql-sse's client in distinct connections mode and reads to the end. */
export async function subscribeWithClient(
  baseUrl: string,
  variables: Record<string, unknown>,
  options: { token?: string | null; query?: string; onEvent?: (event: StreamEvent) => void } = {},
): Promise<ClientSubscription> {
  const client = createClient({
    url: `${baseUrl}/graphql`,
    singleConnection: false,
    retryAttempts: 0,
    headers: options.token ? { authorization: `Bearer ${options.token}` } : {},
  });
  const outcome: ClientSubscription = { results: [], events: [], error: undefined };
  try {
    for await (const payload of client.iterate({ query: options.query ?? SEND_MESSAGE, variables })) {
      const result = payload as GraphQLResult;
      outcome.results.push(result);
      const event = (result.data?.sendMessage ?? result.data?.resumeStream) as StreamEvent | undefined;
      if (event) {
        outcome.events.push(event);
        options.onEvent?.(event);
      }
    }
  } catch (error) {
    outcome.error = error;
  } finally {
    client.dispose();
  }
  return outcome;
}

export const typenames = (events: StreamEvent[]): string[] => events.map((event) => event.__typename);

/** The answer's text as the client saw it: its TextDelta events, joined. */
export const streamedText = (events: StreamEvent[]): string =>
  events.flatMap((event) => (event.__typename === "TextDelta" ? [event.delta] : [])).join("");

export const textDeltaCount = (events: StreamEvent[]): number =>
  events.filter((event) => event.__typename === "TextDelta").length;

/** Polls until `probe` returns a value other than undefined/null/false, or the time is up. */
export async function eventually<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
