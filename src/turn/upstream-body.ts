// The streamer's response body (undici's Node Readable) as the `data` of its
// server-sent events, framed by eventsource-parser: the parser the ai
// package's parseJsonEventStream runs, fed here without its web-stream stages.
import type { Readable } from "node:stream";
import { createParser } from "eventsource-parser";

// Events read ahead of the turn before the body is paused.
const HIGH_WATER = 64;

/**
 * The body's SSE events, read with `take` and `wait`. The ai package's
 * parseJsonEventStream pipes the body through a TextDecoderStream and an
 * EventSourceParserStream; this is the same decoder and parser called
 * directly, which costs a paced delta far less (BENCHMARKS.md, "What was
 * tried"). The JSON of each event is still parsed and validated by the ai
 * package (chunk-stream.ts). It can be made before the response arrives and
 * `attach`ed then, so the parser is ready while the request is in flight.
 * Backpressure: the body pauses while HIGH_WATER events wait; cancelling
 * destroys it (undici then drops the connection).
 */
export class UpstreamBody {
  private body: Readable | null = null;
  private readonly events: string[] = [];
  private head = 0;
  /** Set once: the body ended (true), failed (its error), or was cancelled. */
  private ended: true | { error: unknown } | null = null;
  private wake: (() => void) | null = null;
  private bytesListener: (size: number) => void = () => {};
  private attachListener: (() => void) | null = null;

  /** Feeds the events from the undici body; a body that comes too late (cancelled, attached) is destroyed. */
  attach(body: Readable): void {
    // Also hears undici's report of an early destroy, which would otherwise be an uncaught exception.
    body.on("error", (error) => this.settle({ error }));
    if (this.ended || this.body) {
      body.destroy();
      return;
    }
    this.body = body;
    const decoder = new TextDecoder();
    const parser = createParser({ onEvent: (event) => this.events.push(event.data) });
    body.on("data", (bytes: Uint8Array) => {
      if (this.ended) return;
      this.bytesListener(bytes.length);
      parser.feed(decoder.decode(bytes, { stream: true }));
      if (this.events.length - this.head >= HIGH_WATER) body.pause();
      this.notify();
    });
    body.on("end", () => this.settle(true));
    body.on("close", () => this.settle({ error: new Error("the response body closed before it ended") }));
    this.attachListener?.();
  }

  /**
   * The next event's data; null once the body ended (or was cancelled) and
   * every event was taken; undefined while none is waiting (see `wait`).
   * Throws the body's error once the events before it are taken.
   */
  take(): string | null | undefined {
    if (this.head < this.events.length) {
      const data = this.events[this.head++];
      if (this.head === this.events.length) {
        this.events.length = 0;
        this.head = 0;
        if (!this.ended) this.body?.resume();
      }
      return data;
    }
    if (this.ended === true) return null;
    if (this.ended) throw this.ended.error;
    return undefined;
  }

  /** Resolves once `take` has something to say. */
  wait(): Promise<void> {
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** Stops reading: the body is destroyed, and `take` says the events ended. */
  cancel(): void {
    this.events.length = 0;
    this.head = 0;
    this.settle(true);
    this.body?.destroy();
  }

  /** Errors the events when no body will come (the request failed). */
  abandon(error: unknown): void {
    if (!this.body) this.settle({ error });
  }

  /** Called for every piece of the body as it arrives (with its size in bytes), before it is parsed. */
  set onBytes(listener: (size: number) => void) {
    this.bytesListener = listener;
  }

  /** Calls `listener` once a body is attached (now, if one is). */
  whenAttached(listener: () => void): void {
    if (this.body) listener();
    else this.attachListener = listener;
  }

  /** Ends the events once: the first of end, error, close, cancel or abandon wins. */
  private settle(ending: true | { error: unknown }): void {
    if (this.ended) return;
    this.ended = ending;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
