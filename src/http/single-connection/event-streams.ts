// Where single-connection mode keeps its event streams: reserved by a PUT,
// held by one GET, fed frames by the operations POSTed for them. In this
// process without REDIS_URL (memory-event-streams.ts), in Redis with it
// (redis-event-streams.ts), so that the PUT, the GET and each POST may reach
// different instances.

import { completeFrame, nextFrame } from "./operation-run.ts";

/** What a POST finds when it looks for its stream. */
export type StreamState = "reserved" | "open" | "gone";

export type OpenResult = { kind: "opened"; stream: HeldStream } | { kind: "already-open" } | { kind: "gone" };

export type AddResult = "added" | "duplicate" | "too-many";

/**
 * "full": this instance holds as many streams as it may; "caller-full": the
 * caller (a user, or an address without a token) holds as many as one may;
 * either way the client should try again shortly.
 */
export type ReserveResult = "reserved" | "full" | "caller-full";

/** The stream a GET holds: the frames sent to it, in batches, until close(). */
export interface HeldStream {
  frames: AsyncIterable<string[]>;
  close(): Promise<void>;
}

export interface EventStreams {
  /** True when any instance can serve a stream another one reserved. */
  readonly shared: boolean;
  /** `caller`: who reserves it (a user id, or an address without a token), for the per-caller bound. */
  reserve(id: string, reservedUntil: number, caller: string): Promise<ReserveResult>;
  /** Claims the stream for one GET: a second GET is refused, as is one after the stream closed. */
  open(id: string, reservedUntil: number): Promise<OpenResult>;
  state(id: string, reservedUntil: number): Promise<StreamState>;
  /** Records an operation of the stream, refusing a duplicate id or one past `max`. */
  addOperation(id: string, operationId: string, max: number): Promise<AddResult>;
  removeOperation(id: string, operationId: string): Promise<void>;
  /**
   * Queues SSE frames for the stream's holder, in order. Past the bounds of
   * what may wait (results and bytes) the stream ends with overflowFrames; a
   * stream nobody opened keeps its frames no longer than its reservation
   * (`reservedUntil`), after which its operations are stopped.
   */
  send(id: string, frames: string, reservedUntil: number): void;
  /** Stops an operation (`operationId`) or all of them (null, the GET closed) on the instance running it. */
  cancel(id: string, operationId: string | null): Promise<void>;
  onCancel(listener: (id: string, operationId: string | null) => void): void;
  close(): Promise<void>;
}

/** A reservation nobody opened is kept this long past its end, to tell "closed" from "never here". */
export const TOMBSTONE_MS = 60_000;

/** What may wait for a stream's holder that stopped reading: past either, the stream ends with an error. */
export interface WaitingBounds {
  /** Results (`next` frames). */
  results: number;
  /** Bytes of frames. */
  bytes: number;
}

export const WAITING_BOUNDS: WaitingBounds = { results: 10_000, bytes: 8 * 1024 * 1024 };

/** The results (`next` frames) in `frames`: a newline inside a payload is escaped, so each "event: next" line starts one. */
export function resultsIn(frames: string): number {
  let count = 0;
  for (let at = frames.indexOf(NEXT_LINE); at !== -1; at = frames.indexOf(NEXT_LINE, at + NEXT_LINE.length)) count++;
  return count;
}

const NEXT_LINE = "event: next\n";

/**
 * What a stream whose client stopped reading ends with, after the frames that
 * waited: an error result and `complete` for each operation, so the client sees
 * them fail instead of missing results (or retrying them as after a network error).
 */
export function overflowFrames(operationIds: Iterable<string>, bounds: WaitingBounds): string {
  const megabytes = Math.round((bounds.bytes / (1024 * 1024)) * 10) / 10;
  const payload = JSON.stringify({
    errors: [
      {
        message:
          `The event stream was closed: more than ${bounds.results} results or ${megabytes} MB waited for the client to read them. ` +
          "Open a new stream and run the operation again (a sendMessage turn goes on: resumeStream follows it).",
        extensions: { code: "bad_request:api" },
      },
    ],
  });
  let frames = "";
  for (const id of operationIds) frames += nextFrame(JSON.stringify(id), payload) + completeFrame(JSON.stringify(id));
  return frames;
}
