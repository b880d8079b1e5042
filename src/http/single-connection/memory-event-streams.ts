import type { AddResult, EventStreams, HeldStream, OpenResult, StreamState } from "./event-streams.ts";
import { TOMBSTONE_MS } from "./event-streams.ts";

// Frames a holder may have waiting; past it the client is not reading and the stream is closed.
const MAX_QUEUED_FRAMES = 10_000;

interface LocalStream {
  state: "reserved" | "open" | "closed";
  queue: string[];
  wake: (() => void) | null;
  operations: Set<string>;
  expiry: NodeJS.Timeout;
}

/**
 * Event streams in this process: a stream reserved on another instance is
 * unknown here, which single-connection.ts reports as needing REDIS_URL.
 */
export class MemoryEventStreams implements EventStreams {
  readonly shared = false;
  private readonly streams = new Map<string, LocalStream>();
  private readonly listeners: ((id: string, operationId: string | null) => void)[] = [];

  async reserve(id: string, reservedUntil: number): Promise<void> {
    const expiry = setTimeout(() => this.expire(id), reservedUntil - Date.now() + TOMBSTONE_MS).unref();
    this.streams.set(id, { state: "reserved", queue: [], wake: null, operations: new Set(), expiry });
  }

  async open(id: string, reservedUntil: number): Promise<OpenResult> {
    const stream = this.streams.get(id);
    if (!stream || stream.state === "closed" || Date.now() > reservedUntil) return { kind: "gone" };
    if (stream.state === "open") return { kind: "already-open" };
    stream.state = "open";
    clearTimeout(stream.expiry);
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
    stream.queue.push(frames);
    if (stream.queue.length > MAX_QUEUED_FRAMES) this.finish(id, stream);
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

  /** Closes the stream, ends its operations, and keeps a tombstone so a late GET is refused. */
  private finish(id: string, stream: LocalStream): void {
    if (stream.state === "closed") return;
    stream.state = "closed";
    stream.queue = [];
    stream.wake?.();
    clearTimeout(stream.expiry);
    stream.expiry = setTimeout(() => this.expire(id), TOMBSTONE_MS).unref();
    void this.cancel(id, null);
  }

  private expire(id: string): void {
    const stream = this.streams.get(id);
    if (stream?.state !== "open") this.streams.delete(id);
  }
}
