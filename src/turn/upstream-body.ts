// The streamer's response body (undici's Node Readable) as the web stream that
// the ai package's parser reads.
import type { Readable } from "node:stream";

/**
 * The undici body as a web stream, made by hand over its 'data' events: one
 * layer fewer than Readable.toWeb plus readChunks' idle-watch TransformStream,
 * which instead sees every piece of the body through `onBytes`. It can be made
 * before the response arrives and `attach`ed then, so that the parse pipeline
 * is built while the request is in flight. Backpressure: the body pauses while
 * the queue is full and resumes on pull; cancelling destroys it (undici then
 * drops the connection).
 */
export class UpstreamBody extends ReadableStream<Uint8Array> {
  private readonly state: {
    body: Readable | null;
    settled: boolean;
    controller: ReadableStreamDefaultController<Uint8Array> | null;
    onBytes: () => void;
    onAttach: (() => void) | null;
  };

  constructor() {
    const state: UpstreamBody["state"] = {
      body: null,
      settled: false,
      controller: null,
      onBytes: () => {},
      onAttach: null,
    };
    super({
      start(controller) {
        state.controller = controller;
      },
      pull() {
        state.body?.resume();
      },
      cancel() {
        state.settled = true;
        state.body?.destroy();
      },
    });
    this.state = state;
  }

  /** Feeds the stream from the undici body; a body that comes too late (cancelled, attached) is destroyed. */
  attach(body: Readable): void {
    const state = this.state;
    const controller = state.controller!;
    // Also hears undici's report of an early destroy, which would otherwise be an uncaught exception.
    body.on("error", (error) => this.settle(() => controller.error(error)));
    if (state.settled || state.body) {
      body.destroy();
      return;
    }
    state.body = body;
    // undici hands over each chunk of a chunked response separately, often a
    // single SSE event, several per socket read. They are queued as one piece
    // per read, so the parser's stream stages run once per read, not per event.
    let pieces: Uint8Array[] = [];
    const flush = () => {
      const queued = pieces;
      pieces = [];
      if (state.settled || queued.length === 0) return;
      controller.enqueue(queued.length === 1 ? queued[0] : Buffer.concat(queued));
      if (controller.desiredSize! <= 0) body.pause();
    };
    body.on("data", (bytes: Uint8Array) => {
      if (state.settled) return;
      state.onBytes();
      // Speed only: the pieces of one read go to the parser as one chunk.
      if (pieces.push(bytes) === 1) queueMicrotask(flush);
    });
    body.on("end", () => {
      // Order matters: pieces still queued go out before the stream closes.
      flush();
      this.settle(() => controller.close());
    });
    body.on("close", () => {
      flush();
      this.settle(() => controller.error(new Error("the response body closed before it ended")));
    });
    state.onAttach?.();
  }

  /** Errors the stream when no body will come (the request failed). */
  abandon(error: unknown): void {
    if (!this.state.body) this.settle(() => this.state.controller!.error(error));
  }

  /** Ends the stream once: the first of end, error, close, cancel or abandon wins. */
  private settle(end: () => void): void {
    if (this.state.settled) return;
    this.state.settled = true;
    end();
  }

  /** Called for every piece of the body as it arrives, before it is queued. */
  set onBytes(listener: () => void) {
    this.state.onBytes = listener;
  }

  /** Calls `listener` once a body is attached (now, if one is). */
  whenAttached(listener: () => void): void {
    if (this.state.body) listener();
    else this.state.onAttach = listener;
  }
}
