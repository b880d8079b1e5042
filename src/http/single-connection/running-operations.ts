import type { EventStreams } from "./event-streams.ts";

// How often the operations run here check that their stream still has a
// holder: a cancel lost with a Redis hiccup, or a holder whose instance died,
// leaves no operation running past this (plus the holder's TTL).
const SWEEP_MS = 10_000;

interface StreamOperations {
  reservedUntil: number;
  stops: Map<string, () => void>;
}

/**
 * The operations this instance runs, by stream: stopped by a DELETE or by
 * their stream's GET closing, whichever instance those reached.
 */
export class RunningOperations {
  private readonly byStream = new Map<string, StreamOperations>();
  private sweeper: NodeJS.Timeout | null = null;

  private readonly streams: EventStreams;

  constructor(streams: EventStreams) {
    this.streams = streams;
    streams.onCancel((id, operationId) => this.stop(id, operationId));
  }

  add(id: string, reservedUntil: number, operationId: string, stop: () => void): void {
    let entry = this.byStream.get(id);
    if (!entry) this.byStream.set(id, (entry = { reservedUntil, stops: new Map() }));
    entry.stops.set(operationId, stop);
    this.sweeper ??= setInterval(() => void this.sweep(), SWEEP_MS).unref();
  }

  remove(id: string, operationId: string): void {
    const entry = this.byStream.get(id);
    entry?.stops.delete(operationId);
    if (entry?.stops.size === 0) this.byStream.delete(id);
  }

  stop(id: string, operationId: string | null): void {
    const entry = this.byStream.get(id);
    if (!entry) return;
    for (const [opId, stop] of entry.stops) if (operationId === null || opId === operationId) stop();
  }

  private async sweep(): Promise<void> {
    for (const [id, { reservedUntil }] of this.byStream) {
      const state = await this.streams.state(id, reservedUntil).catch(() => "open" as const);
      if (state === "gone") this.stop(id, null);
    }
  }
}
