import type {
  AddResult,
  EventStreams,
  HeldStream,
  OpenResult,
  ReserveResult,
  StreamState,
  WaitingBounds,
} from "./event-streams.ts";
import { overflowFrames, resultsIn, TOMBSTONE_MS, WAITING_BOUNDS } from "./event-streams.ts";

const MAX_STREAMS = 10_000;
// One caller's share, so that no one caller (an anonymous flood of PUTs) takes every stream.
const MAX_STREAMS_PER_CALLER = 100;
// What every stream of the process may have waiting at once: streams that are
// each under their own bound must not add up to the process's memory.
const MAX_TOTAL_WAITING_BYTES = 256 * 1024 * 1024;

interface LocalStream {
  state: "reserved" | "open" | "closed";
  caller: string;
  queue: string[];
  /** Results and bytes in `queue`. */
  results: number;
  bytes: number;
  wake: (() => void) | null;
  /** The frames the stream ended with, when it ended for its holder (an overflow). */
  end?: string;
  operations: Set<string>;
  timer: NodeJS.Timeout;
}

export interface MemoryEventStreamsOptions {
  /** Streams reserved or open at once in this process; a PUT past it is refused (default 10,000). */
  maxStreams?: number;
  /** Streams reserved or open at once by one caller; a PUT past it is refused (default 100). */
  maxStreamsPerCaller?: number;
  /** What may wait for a holder that stopped reading; past it the stream ends with an error (default WAITING_BOUNDS). */
  waiting?: WaitingBounds;
  /** Bytes waiting in all streams together; a send past it ends its stream the same way (default 256 MB). */
  maxTotalWaitingBytes?: number;
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
  private readonly maxStreamsPerCaller: number;
  /** Streams reserved or open, by caller. */
  private readonly byCaller = new Map<string, number>();
  private readonly waiting: WaitingBounds;
  private readonly maxTotalWaitingBytes: number;
  private waitingBytes = 0;
  private live = 0;
  // Closed streams kept a while to refuse a late GET or POST, oldest first.
  private readonly tombstones = new Set<string>();

  constructor(options: MemoryEventStreamsOptions = {}) {
    this.maxStreams = options.maxStreams ?? MAX_STREAMS;
    this.maxStreamsPerCaller = options.maxStreamsPerCaller ?? MAX_STREAMS_PER_CALLER;
    this.waiting = options.waiting ?? WAITING_BOUNDS;
    this.maxTotalWaitingBytes = options.maxTotalWaitingBytes ?? MAX_TOTAL_WAITING_BYTES;
  }

  async reserve(id: string, reservedUntil: number, caller: string): Promise<ReserveResult> {
    const held = this.byCaller.get(caller) ?? 0;
    if (held >= this.maxStreamsPerCaller) return "caller-full";
    if (this.live >= this.maxStreams) return "full";
    this.live++;
    this.byCaller.set(caller, held + 1);
    const timer = setTimeout(() => this.lapse(id), Math.max(0, reservedUntil - Date.now())).unref();
    this.streams.set(id, {
      state: "reserved",
      caller,
      queue: [],
      results: 0,
      bytes: 0,
      wake: null,
      operations: new Set(),
      timer,
    });
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

  // A reservation nobody opened lapses on its timer (lapse()).
  send(id: string, frames: string): void {
    const stream = this.streams.get(id);
    if (!stream || stream.state === "closed") return;
    const results = resultsIn(frames);
    const bytes = Buffer.byteLength(frames);
    // Only what already waits counts against the bounds: a send to a holder that keeps up always goes through.
    if (
      (stream.results > 0 && stream.results + results > this.waiting.results) ||
      (stream.bytes > 0 && stream.bytes + bytes > this.waiting.bytes)
    ) {
      this.overflow(id, stream);
      return;
    }
    if (this.waitingBytes + bytes > this.maxTotalWaitingBytes)
      this.shed(this.waitingBytes + bytes - this.maxTotalWaitingBytes);
    // Shedding may have ended this very stream.
    if ((stream.state as LocalStream["state"]) === "closed") return;
    stream.queue.push(frames);
    stream.results += results;
    stream.bytes += bytes;
    this.waitingBytes += bytes;
    stream.wake?.();
  }

  /** Ends the stream: its holder gets what waited, then an error and `complete` for each operation. */
  private overflow(id: string, stream: LocalStream): void {
    this.finish(id, stream, overflowFrames(stream.operations, this.waiting));
  }

  /**
   * Past the instance's bound, the streams holding the most are ended until
   * `excess` bytes are freed, what waited for them dropped (their holders get
   * the error and `complete` at once): the callers that stopped reading pay, not
   * the one whose send came next.
   */
  private shed(excess: number): void {
    const largest = [...this.streams]
      .filter(([, stream]) => stream.bytes > 0)
      .sort(([, a], [, b]) => b.bytes - a.bytes);
    for (const [id, stream] of largest) {
      if (excess <= 0) return;
      excess -= stream.bytes;
      this.take(stream);
      if (stream.state === "closed") stream.queue.push(stream.end ?? overflowFrames(stream.operations, this.waiting));
      else this.overflow(id, stream);
      stream.wake?.();
    }
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
    const taken = () => this.take(stream);
    const frames = async function* () {
      for (;;) {
        if (stream.queue.length > 0) yield taken();
        else if (stream.state === "closed") return;
        else await new Promise<void>((resolve) => (stream.wake = resolve));
        stream.wake = null;
      }
    };
    return { frames: frames(), close: async () => this.finish(id, stream) };
  }

  /** The frames waiting, which no longer count as waiting. */
  private take(stream: LocalStream): string[] {
    this.waitingBytes -= stream.bytes;
    stream.results = 0;
    stream.bytes = 0;
    return stream.queue.splice(0);
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
    const held = (this.byCaller.get(stream.caller) ?? 1) - 1;
    if (held > 0) this.byCaller.set(stream.caller, held);
    else this.byCaller.delete(stream.caller);
    if (last === undefined) this.take(stream);
    else stream.queue.push((stream.end = last));
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
    if (stream) {
      clearTimeout(stream.timer);
      // What waited goes; a holder still attached still reads the stream's end
      // (an overflow's error and `complete` for each operation).
      this.take(stream);
      if (stream.end !== undefined) stream.queue.push(stream.end);
    }
    this.streams.delete(id);
    this.tombstones.delete(id);
  }
}
