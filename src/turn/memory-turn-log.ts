import { EventWindow } from "./event-window.ts";
import type { LoggedTurn, ReadOptions, TurnEvent, TurnLog } from "./turn-log.ts";

/**
 * The turn log without Redis: each turn's events once, in this process, kept
 * for the retention after the turn ends. Nothing here outlives the process:
 * the embedded mode recovers a turn from its database checkpoint instead, and
 * its resumers get the recovery's terminal event.
 */
export class MemoryTurnLog implements TurnLog {
  private readonly turns = new Map<string, EventWindow>();
  /** Terminal events of recovered turns (recover.ts), for their resumers. */
  private readonly recovered = new Map<string, TurnEvent>();
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
    this.expire(() => this.turns.delete(streamId));
  }

  private expire(forget: () => void): void {
    const expiry = setTimeout(() => {
      this.expiries.delete(expiry);
      forget();
    }, this.retentionMs);
    expiry.unref();
    this.expiries.add(expiry);
  }

  async *read(streamId: string, afterSeq: number, { signal }: ReadOptions): AsyncGenerator<TurnEvent> {
    const window = this.turns.get(streamId);
    if (window) {
      yield* window.read(afterSeq, signal);
      return;
    }
    // A turn of this process's previous life, ended by its recovery: each reader
    // gets the terminal as its next seq, whatever it holds (the events died with that life).
    const terminal = this.recovered.get(streamId);
    if (terminal) yield terminal.seq > afterSeq ? terminal : { ...terminal, seq: afterSeq + 1 };
  }

  async recover(): Promise<LoggedTurn | null> {
    return null;
  }

  async appendTerminal(streamId: string, event: TurnEvent): Promise<void> {
    this.recovered.set(streamId, event);
    this.expire(() => this.recovered.delete(streamId));
  }

  async shutdown(): Promise<void> {
    for (const expiry of this.expiries) clearTimeout(expiry);
    this.expiries.clear();
    this.turns.clear();
    this.recovered.clear();
  }
}
