import { EventWindow } from "./event-window.ts";
import type { LoggedTurn, ReadOptions, TurnEvent, TurnLog } from "./turn-log.ts";

/**
 * The turn log without Redis: each turn's events once, in this process, kept
 * for the retention after the turn ends. Nothing here outlives the process:
 * the embedded mode recovers a turn from its database checkpoint instead.
 */
export class MemoryTurnLog implements TurnLog {
  private readonly turns = new Map<string, EventWindow>();
  private readonly expiries = new Set<NodeJS.Timeout>();
  private readonly retentionMs: number;

  constructor({ retentionMs }: { retentionMs: number }) {
    this.retentionMs = retentionMs;
  }

  open(streamId: string): void {
    this.turns.set(streamId, new EventWindow());
  }

  append(streamId: string, event: TurnEvent): void {
    this.turns.get(streamId)?.push(event);
  }

  note(): void {}

  end(streamId: string): void {
    const expiry = setTimeout(() => {
      this.expiries.delete(expiry);
      this.turns.delete(streamId);
    }, this.retentionMs);
    expiry.unref();
    this.expiries.add(expiry);
  }

  async *read(streamId: string, afterSeq: number, { signal }: ReadOptions): AsyncGenerator<TurnEvent> {
    const window = this.turns.get(streamId);
    if (window) yield* window.read(afterSeq, signal);
  }

  async recover(): Promise<LoggedTurn | null> {
    return null;
  }

  async appendTerminal(): Promise<void> {}

  async shutdown(): Promise<void> {
    for (const expiry of this.expiries) clearTimeout(expiry);
    this.expiries.clear();
    this.turns.clear();
  }
}
