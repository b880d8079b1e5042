// A streamer the test controls: node:http on 127.0.0.1, port 0. It records every
// request (headers, JSON body, when its socket closed) and answers with whatever
// the current handler writes, typically an AI SDK UI message stream built from
// real chunk JSON.
import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage["headers"];
  /** The body parsed as JSON (the raw text when it is not JSON). */
  body: any;
  receivedAt: number;
  /** Set when the connection closed before the answer was complete (the gateway went away). */
  closedEarly: boolean;
  /** When the response closed, completed or not. */
  closedAt: number | null;
}

export interface FakeCall {
  req: IncomingMessage;
  res: ServerResponse;
  record: RecordedRequest;
  /** Resolves when the response closes (the gateway hung up or the answer ended). */
  closed: Promise<void>;
  /** Writes the 200 event-stream head (the AI SDK's UI_MESSAGE_STREAM_HEADERS). */
  startStream(): void;
  /** Writes one `data:` line: a chunk object as JSON, or a raw string as is. */
  send(chunk: object | string): boolean;
  /** `data: [DONE]` and the end of the body. */
  done(): void;
  /** Kills the connection without ending the body. */
  destroy(): void;
  /** Sleeps, but wakes early when the gateway hangs up. */
  pause(ms: number): Promise<void>;
  /** The text of the user message the gateway sent. */
  userText: string;
}

export type FakeHandler = (call: FakeCall) => void | Promise<void>;

export interface FakeStreamer {
  url: string;
  requests: RecordedRequest[];
  /** The handler for the following requests. */
  handle(handler: FakeHandler): void;
  close(): Promise<void>;
}

export const STREAM_HEADERS = {
  "content-type": "text/event-stream",
  "cache-control": "no-cache",
  connection: "keep-alive",
  "x-vercel-ai-ui-message-stream": "v1",
  "x-accel-buffering": "no",
};

export async function startFakeStreamer(
  initial: FakeHandler = respond(textTurn("Hello there.")),
): Promise<FakeStreamer> {
  let handler = initial;
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req, res) => {
    let text = "";
    for await (const piece of req) text += piece;
    let body: any = text;
    try {
      body = JSON.parse(text);
    } catch {
      // kept as text
    }
    const record: RecordedRequest = {
      method: req.method ?? "",
      path: req.url ?? "",
      headers: req.headers,
      body,
      receivedAt: Date.now(),
      closedEarly: false,
      closedAt: null,
    };
    requests.push(record);
    const closed = new Promise<void>((resolve) =>
      res.once("close", () => {
        record.closedAt = Date.now();
        record.closedEarly = !res.writableFinished;
        resolve();
      }),
    );
    const call: FakeCall = {
      req,
      res,
      record,
      closed,
      userText: textOfParts(body?.message?.parts),
      startStream: () => res.writeHead(200, STREAM_HEADERS),
      send: (chunk) => {
        if (res.destroyed || res.writableEnded) return false;
        res.write(`data: ${typeof chunk === "string" ? chunk : JSON.stringify(chunk)}\n\n`);
        return true;
      },
      done: () => {
        if (!res.destroyed && !res.writableEnded) res.end("data: [DONE]\n\n");
      },
      destroy: () => req.socket.destroy(),
      pause: (ms) => Promise.race([sleep(ms), closed]),
    };
    try {
      await handler(call);
    } catch (error) {
      res.destroy(error as Error);
    }
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    handle(next) {
      handler = next;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function textOfParts(parts: unknown): string {
  if (!Array.isArray(parts)) return "";
  return parts.flatMap((part) => (typeof part?.text === "string" ? [part.text] : [])).join("\n");
}

/** A pause between chunks in a script. */
export type Delay = { delayMs: number };
export type ScriptItem = object | string | Delay;

const isDelay = (item: ScriptItem): item is Delay => typeof item === "object" && "delayMs" in item;

/**
 * Answers 200 with the script's chunks (objects as JSON, strings as raw data
 * lines, `{ delayMs }` as pauses), then `[DONE]` unless `end` says otherwise:
 * "destroy" kills the socket, "hang" keeps it open until the gateway hangs up,
 * "close" ends the body without [DONE].
 */
export function respond(items: ScriptItem[], end: "done" | "close" | "destroy" | "hang" = "done"): FakeHandler {
  return async (call) => {
    call.startStream();
    for (const item of items) {
      if (isDelay(item)) await call.pause(item.delayMs);
      else if (!call.send(item)) return;
    }
    if (end === "done") call.done();
    else if (end === "close") call.res.end();
    else if (end === "destroy") {
      // Let the last writes leave before the connection dies.
      await sleep(20);
      call.destroy();
    } else await call.closed;
  };
}

/** Deltas of `text` in pieces of about `size` characters. */
export function textDeltas(id: string, text: string, size = 6): object[] {
  const pieces: object[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push({ type: "text-delta", id, delta: text.slice(i, i + size) });
  return pieces;
}

export const USAGE_METADATA = {
  usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18, reasoningTokens: 2, cachedInputTokens: 3 },
  finishReason: "stop",
  model: "fake-model",
};

/** The head of a turn as an AI SDK 7 streamer sends it (with a messageId). */
export function turnHead(messageId = "msg-from-streamer"): object[] {
  return [{ type: "start", messageId }, { type: "start-step" }, { type: "text-start", id: "t1" }];
}

/** The tail of a finished turn, with usage metadata unless `metadata` is null. */
export function turnTail(metadata: object | null = USAGE_METADATA, finishReason = "stop"): object[] {
  return [
    { type: "text-end", id: "t1" },
    { type: "finish-step" },
    metadata === null ? { type: "finish", finishReason } : { type: "finish", finishReason, messageMetadata: metadata },
  ];
}

/**
 * A text answer held after `first`: `rest` and the end of the turn follow
 * once `until(call)` resolves, or never once the gateway has hung up.
 */
export function heldTextTurn(first: string, rest: string, until: (call: FakeCall) => Promise<unknown>): FakeHandler {
  return async (call) => {
    call.startStream();
    for (const chunk of [...turnHead(), ...textDeltas("t1", first)]) call.send(chunk);
    await Promise.race([until(call), call.closed]);
    for (const chunk of [...textDeltas("t1", rest), ...turnTail()]) call.send(chunk);
    call.done();
  };
}

/** A whole one-step text answer, a delta of about `size` characters every `delayMs`. */
export function slowTextTurn(text: string, delayMs: number, size = 5): ScriptItem[] {
  return [...turnHead(), ...textDeltas("t1", text, size).flatMap((delta) => [delta, { delayMs }]), ...turnTail()];
}

/** A whole one-step text answer. */
export function textTurn(text: string, metadata: object | null = USAGE_METADATA): object[] {
  return [...turnHead(), ...textDeltas("t1", text), ...turnTail(metadata)];
}
