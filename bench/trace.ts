// Stage timestamps for the first-delta breakdown (bench/turn.ts, "where the time
// goes"). Off unless the parent turns it on for the trace pass: the hooks are
// diagnostics_channel subscriptions and a wrapped ServerResponse#write, none of
// which touch src/. All processes stamp with CLOCK_MONOTONIC (process.hrtime),
// which is system-wide on Linux, so stamps from the client, the gateway and the
// streamer can be compared directly.
import dc from "node:diagnostics_channel";
import { ServerResponse } from "node:http";

/** Milliseconds on the system-wide monotonic clock (comparable across processes). */
export function clock(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export type TraceEvent = [name: string, at: number];

export interface TracerOptions {
  /** Marks `write:delta` the first time a response write contains this text. */
  deltaMarker: string;
}

export interface Tracer {
  start(): void;
  /** Stops tracing and hands over what was recorded. */
  stop(): TraceEvent[];
}

function contains(chunk: unknown, text: string): boolean {
  if (typeof chunk === "string") return chunk.includes(text);
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).includes(text);
  return false;
}

export function createTracer(options: TracerOptions): Tracer {
  let events: TraceEvent[] = [];
  const mark = (name: string) => events.push([name, clock()]);

  // Incoming requests, and the gateway's upstream request made with undici.
  const subscriptions: [string, (message: unknown) => void][] = [
    ["http.server.request.start", () => mark("req")],
    ["undici:request:create", () => mark("up:create")],
    ["undici:client:sendHeaders", () => mark("up:send")],
    ["undici:request:headers", () => mark("up:headers")],
    // The gateway's turn statements (src/db/queryable.ts); the first is beginTurn.
    ["tracing:chat-gateway:db.statement:start", () => mark("tx:start")],
    ["tracing:chat-gateway:db.statement:asyncEnd", () => mark("tx:end")],
    [
      "undici:request:bodyChunkReceived",
      (message) => {
        mark("up:chunk");
        if (contains((message as { chunk?: unknown }).chunk, "text-delta")) mark("up:delta");
      },
    ],
  ];

  const originalWrite = ServerResponse.prototype.write;
  const tracedWrite = function (this: ServerResponse, ...args: unknown[]) {
    mark("write");
    if (contains(args[0], options.deltaMarker)) mark("write:delta");
    return (originalWrite as (...a: unknown[]) => boolean).apply(this, args);
  };

  let active = false;
  return {
    start() {
      if (active) return;
      active = true;
      events = [];
      for (const [name, handler] of subscriptions) dc.subscribe(name, handler);
      ServerResponse.prototype.write = tracedWrite as typeof originalWrite;
    },
    stop() {
      if (active) {
        active = false;
        for (const [name, handler] of subscriptions) dc.unsubscribe(name, handler);
        ServerResponse.prototype.write = originalWrite;
      }
      const recorded = events;
      events = [];
      return recorded;
    },
  };
}
