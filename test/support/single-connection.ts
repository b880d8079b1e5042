// graphql-sse's own client in single-connection mode (/graphql/stream), with a
// fetch that records every request it makes (and may pick the instance each goes to).
import { createClient, type Client } from "graphql-sse";
import type { GraphQLResult } from "./gateway.ts";
import { parseSseFrames, SEND_MESSAGE, type SseFrame, type StreamEvent } from "./sse.ts";

export interface RecordedRequest {
  method: string;
  url: string;
  status: number;
}

export interface SingleConnectionClient {
  client: Client<true>;
  requests: RecordedRequest[];
  /** Runs an operation on the connection and reads its results to the end (or to the error the sink got). */
  run(
    query: string,
    variables?: Record<string, unknown>,
    onResult?: (result: GraphQLResult) => void,
  ): Promise<SingleConnectionRun>;
  /** Runs a sendMessage turn on the connection. */
  turn(variables: Record<string, unknown>): Promise<SingleConnectionRun>;
}

export interface SingleConnectionRun {
  results: GraphQLResult[];
  events: StreamEvent[];
  error: unknown;
}

/**
 * A single-connection client on `baseUrls[0]`, or, with several, on each in
 * turn per request (a round-robin balancer with no sticky sessions).
 */
export function singleConnectionClient(
  baseUrls: string[],
  options: { token?: string | null; headers?: Record<string, string>; lazy?: boolean } = {},
): SingleConnectionClient {
  const requests: RecordedRequest[] = [];
  let next = 0;
  const fetchFn = async (input: string | URL | Request, init?: RequestInit) => {
    const base = baseUrls[next++ % baseUrls.length];
    const url = new URL(String(input));
    const target = `${base}${url.pathname}${url.search}`;
    const response = await fetch(target, init);
    requests.push({ method: init?.method ?? "GET", url: target, status: response.status });
    return response;
  };
  const client = createClient({
    singleConnection: true,
    lazy: options.lazy ?? true,
    onNonLazyError: () => {},
    url: `${baseUrls[0]}/graphql/stream`,
    retryAttempts: 0,
    fetchFn,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
  });
  const run: SingleConnectionClient["run"] = async (query, variables = {}, onResult) => {
    const outcome: SingleConnectionRun = { results: [], events: [], error: undefined };
    try {
      for await (const payload of client.iterate({ query, variables })) {
        const result = payload as GraphQLResult;
        outcome.results.push(result);
        onResult?.(result);
        const event = (result.data?.sendMessage ?? result.data?.resumeStream) as StreamEvent | undefined;
        if (event) outcome.events.push(event);
      }
    } catch (error) {
      outcome.error = error;
    }
    return outcome;
  };
  return { client, requests, run, turn: (variables) => run(SEND_MESSAGE, variables) };
}

/** PUT /graphql/stream: the event stream token. */
export async function reserveStream(baseUrl: string, token?: string): Promise<string> {
  const response = await fetch(`${baseUrl}/graphql/stream`, { method: "PUT", headers: authorization(token) });
  if (response.status !== 201) throw new Error(`PUT answered ${response.status}: ${await response.text()}`);
  return response.text();
}

export interface RawEventStream {
  status: number;
  frames: SseFrame[];
  /** Resolves once a frame matches (the frames so far are in `frames`). */
  waitFor(match: (frame: SseFrame) => boolean, timeoutMs?: number): Promise<SseFrame>;
  close(): void;
}

/** GET /graphql/stream with a plain fetch, collecting its frames. */
export async function openStream(baseUrl: string, streamToken: string, token?: string): Promise<RawEventStream> {
  const aborted = new AbortController();
  const response = await fetch(`${baseUrl}/graphql/stream`, {
    headers: { ...authorization(token), "x-graphql-event-stream-token": streamToken, accept: "text/event-stream" },
    signal: aborted.signal,
  });
  const frames: SseFrame[] = [];
  const waiters = new Set<() => void>();
  if (response.ok) {
    void (async () => {
      const decoder = new TextDecoder();
      let buffer = "";
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        const parsed = parseSseFrames(buffer + decoder.decode(chunk, { stream: true }));
        buffer = parsed.rest;
        frames.push(...parsed.frames);
        for (const wake of waiters) wake();
      }
    })().catch(() => {});
  }
  return {
    status: response.status,
    frames,
    async waitFor(match, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = frames.find(match);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no matching frame within ${timeoutMs} ms; got ${JSON.stringify(frames)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, left);
          const wake = () => {
            clearTimeout(timer);
            waiters.delete(wake);
            resolve();
          };
          waiters.add(wake);
        });
      }
    },
    close: () => aborted.abort(),
  };
}

/** POST /graphql/stream: an operation for the stream. */
export function postOperation(
  baseUrl: string,
  streamToken: string,
  operation: { query: string; variables?: Record<string, unknown>; operationId: string },
  token?: string,
): Promise<Response> {
  return fetch(`${baseUrl}/graphql/stream`, {
    method: "POST",
    headers: {
      ...authorization(token),
      "x-graphql-event-stream-token": streamToken,
      "content-type": "application/json",
    },
    body: JSON.stringify({
      query: operation.query,
      variables: operation.variables,
      extensions: { operationId: operation.operationId },
    }),
  });
}

/** The `next` payload of a frame when it belongs to `operationId`. */
export function payloadOf(frame: SseFrame, operationId: string): GraphQLResult | null {
  if (frame.event !== "next") return null;
  const data = JSON.parse(frame.data) as { id: string; payload: GraphQLResult };
  return data.id === operationId ? data.payload : null;
}

/** The id of the event stream a token names (its `jti`). */
export function streamIdOf(streamToken: string): string {
  return (JSON.parse(Buffer.from(streamToken.split(".")[1], "base64url").toString()) as { jti: string }).jti;
}

function authorization(token?: string): Record<string, string> {
  return token ? { authorization: `Bearer ${token}` } : {};
}

/** An event without what differs from turn to turn (ids, times). */
export function comparable(event: StreamEvent): unknown {
  const { streamId, chatId, userMessageId, assistantMessageId, message, partialMessage, ...rest } = event;
  const parts = (message ?? partialMessage)?.parts;
  return parts ? { ...rest, parts } : rest;
}
