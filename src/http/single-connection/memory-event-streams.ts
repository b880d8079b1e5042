import type { AddResult, EventStreams, HeldStream, OpenResult, ReserveResult, StreamState } from "./event-streams.ts";
import { overflowFrames, TOMBSTONE_MS } from "./event-streams.ts";

// Frames a holder may have waiting; past it the client is not reading and the stream ends.
const MAX_QUEUED_FRAMES = 10_000;
const MAX_STREAMS = 10_000;

interface LocalStream {
  state: "reserved" | "open" | "closed";
  queue: string[];
  wake: (() => void) | null;
  operations: Set<string>;
  timer: NodeJS.Timeout;
}

export interface MemoryEventStreamsOptions {
  /** Streams reserved or open at once in this process; a PUT past it is refused (default 10,000). */
  maxStreams?: number;
  /** Frames waiting for a holder that stopped reading; past it the stream ends with an error (default 10,000). */
  maxQueuedFrames?: number;
}

/**
 * Event streams in this process: a stream reserved on another instance is
 * unknown here, which single-connection.ts reports as needing REDIS_URL.
 * Bounded: at most `maxStreams` reserved or open, and as many tombstones.
 */
export class MemoryEventStreams implements EventStreams {
  readonly shared = false;
  private readonly streams = new Map<string, LocalStream>();
  private readonly listeners: ((id: string, operationId: string | null) => void)[] = [];
  private readonly maxStreams: number;
  private readonly maxQueuedFrames: number;
  private live = 0;
  // Closed streams kept a while to refuse a late GET or POST, oldest first.
  private readonly tombstones = new Set<string>();

  constructor(options: MemoryEventStreamsOptions = {}) {
    this.maxStreams = options.maxStreams ?? MAX_STREAMS;
    this.maxQueuedFrames = options.maxQueuedFrames ?? MAX_QUEUED_FRAMES;
  }

  async reserve(id: string, reservedUntil: number): Promise<ReserveResult> {
    if (this.live >= this.maxStreams) return "full";
    this.live++;
    const timer = setTimeout(() => this.lapse(id), Math.max(0, reservedUntil - Date.now())).unref();
    this.streams.set(id, { state: "reserved", queue: [], wake: null, operations: new Set(), timer });
    return "reserved";
  }

  async open(id: string, reservedUntil: number): Promise<OpenResult> {
    const stream = this.streams.get(id);
    if (!stream || stream.state === "closed" || Date.now() > reservedUntil) return { kind: "gone" };
    if (stream.state === "open") return { kind: "already-open" };
    stream.state = "open";
    clearTimeout(stream.timer);
    return { kind: "opened", stream: this.held(id, stream) };
  }

  async state(id: string, reservedUntil: number): Promise<StreamState> {
    const stream = this.streams.get(id);
    if (!stream || stream.state === "closed") return "gone";
    if (stream.state === "reserved" && Date.now() > reservedUntil) return "gone";
    return stream.state;
  }

  async addOperation(id: string, operationId: string, max: number): Promise<AddResult> {
    const operations = this.streams.get(id)?.operations;
    if (!operations) return "too-many";
    if (operations.has(operationId)) return "duplicate";
    if (operations.size >= max) return "too-many";
    operations.add(operationId);
    return "added";
  }

  async removeOperation(id: string, operationId: string): Promise<void> {
    this.streams.get(id)?.operations.delete(operationId);
  }

  send(id: string, frames: string): void {
    const stream = this.streams.get(id);
    if (!stream || stream.state === "closed") return;
    if (stream.queue.length >= this.maxQueuedFrames) {
      this.finish(id, stream, overflowFrames(stream.operations, this.maxQueuedFrames));
    } else {
      stream.queue.push(frames);
    }
    stream.wake?.();
  }

  async cancel(id: string, operationId: string | null): Promise<void> {
    for (const listener of this.listeners) listener(id, operationId);
  }

  onCancel(listener: (id: string, operationId: string | null) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    for (const [id, stream] of this.streams) this.finish(id, stream);
  }

  private held(id: string, stream: LocalStream): HeldStream {
    const frames = async function* () {
      for (;;) {
        if (stream.queue.length > 0) yield stream.queue.splice(0);
        else if (stream.state === "closed") return;
        else await new Promise<void>((resolve) => (stream.wake = resolve));
        stream.wake = null;
      }
    };
    return { frames: frames(), close: async () => this.finish(id, stream) };
  }

  /** A reservation nobody opened in time: closed, its operations stopped. */
  private lapse(id: string): void {
    const stream = this.streams.get(id);
    if (stream?.state === "reserved") this.finish(id, stream);
  }

  /**
   * Closes the stream, ends its operations, and keeps a tombstone so a late GET
   * is refused. With `last`, the holder gets what waited and then `last`.
   */
  private finish(id: string, stream: LocalStream, last?: string): void {
    if (stream.state === "closed") return;
    stream.state = "closed";
    this.live--;
    if (last === undefined) stream.queue = [];
    else stream.queue.push(last);
    stream.wake?.();
    clearTimeout(stream.timer);
    stream.timer = setTimeout(() => this.forget(id), TOMBSTONE_MS).unref();
    this.tombstones.add(id);
    // A forgotten stream is refused as unknown: the same answer, without the memory.
    if (this.tombstones.size > this.maxStreams) this.forget(this.tombstones.values().next().value!);
    void this.cancel(id, null);
  }

  private forget(id: string): void {
    const stream = this.streams.get(id);
    if (stream) clearTimeout(stream.timer);
    this.streams.delete(id);
    this.tombstones.delete(id);
  }
}
