// What the load client sends: the gateway's subscriptions and the streamer's
// payload as StreamSpecs for openStream (client.ts), and stopStream.
import { randomUUID } from "node:crypto";
import type { StreamSpec } from "./client.ts";

// The fields a benchmark reads of each event, the same for sendMessage and resumeStream.
const EVENT_FIELDS = /* GraphQL */ `
  __typename
  ... on StreamEvent { seq }
  ... on TextDelta { partId delta }
  ... on StreamFinished { finishReason }
  ... on StreamAborted { reason }
  ... on StreamFailed { code reason }
`;

export const SEND_MESSAGE = /* GraphQL */ `
  subscription Send($input: SendMessageInput!) {
    sendMessage(input: $input) { ${EVENT_FIELDS} }
  }
`;

export const RESUME_STREAM = /* GraphQL */ `
  subscription Resume($chatId: ID!, $afterSeq: Int) {
    resumeStream(chatId: $chatId, afterSeq: $afterSeq) { ${EVENT_FIELDS} }
  }
`;
/** A resumeStream of the chat's latest turn from its start (afterSeq null). */
export function resumeSpec(gatewayUrl: string, userToken: string, chatId: string, timeoutMs: number): StreamSpec {
  return {
    url: `${gatewayUrl}/graphql`,
    kind: "graphql",
    timeoutMs,
    stamped: true,
    headers: { accept: "text/event-stream", authorization: `Bearer ${userToken}` },
    body: JSON.stringify({ query: RESUME_STREAM, variables: { chatId, afterSeq: null } }),
  };
}

/** One gateway turn in a new chat (`chatId`, a fresh one by default). */
export function gatewaySpec(
  gatewayUrl: string,
  userToken: string,
  text: string,
  timeoutMs: number,
  chatId: string = randomUUID(),
): StreamSpec {
  return {
    url: `${gatewayUrl}/graphql`,
    kind: "graphql",
    timeoutMs,
    headers: { accept: "text/event-stream", authorization: `Bearer ${userToken}` },
    body: JSON.stringify({
      query: SEND_MESSAGE,
      variables: { input: { chatId, message: { id: randomUUID(), parts: [{ text }] } } },
    }),
    stamped: text.includes("[stamp]"),
  };
}

/**
 * The spec again as a new turn: a sendMessage in a new chat with a new message
 * (so a slot's turns do not grow one chat's history); other specs as they are.
 */
export function renewed(spec: StreamSpec): StreamSpec {
  if (spec.kind !== "graphql") return spec;
  const body = JSON.parse(spec.body) as { variables?: { input?: { chatId?: string; message?: { id?: string } } } };
  const input = body.variables?.input;
  if (!input?.chatId || !input.message) return spec;
  input.chatId = randomUUID();
  input.message.id = randomUUID();
  return { ...spec, body: JSON.stringify(body) };
}

/** stopStream for the chat: its running turn is stopped and stored. */
export async function stopTurn(gatewayUrl: string, userToken: string, chatId: string): Promise<void> {
  const response = await fetch(`${gatewayUrl}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${userToken}` },
    body: JSON.stringify({ query: "mutation ($chatId: ID!) { stopStream(chatId: $chatId) }", variables: { chatId } }),
    signal: AbortSignal.timeout(15_000),
  });
  if (!response.ok) throw new Error(`stopStream: HTTP ${response.status}`);
}

/** The payload the gateway would POST to the streamer for a new chat's first message. */
export function streamerPayload(chatId: string, text: string) {
  return {
    id: chatId,
    message: { id: randomUUID(), role: "user", parts: [{ type: "text", text }] },
    selectedChatModel: "chat-model",
    selectedVisibilityType: "private",
    existingMessages: [],
  };
}

/** One turn straight to a streamer (or through the pipe), with an internal token for `chatId`. */
export function uiSpec(
  baseUrl: string,
  internalToken: string,
  chatId: string,
  text: string,
  timeoutMs: number,
): StreamSpec {
  return {
    url: `${baseUrl}/api/chat/stream`,
    kind: "ui",
    timeoutMs,
    headers: { accept: "text/event-stream", authorization: `Bearer ${internalToken}` },
    body: JSON.stringify(streamerPayload(chatId, text)),
    stamped: text.includes("[stamp]"),
  };
}
