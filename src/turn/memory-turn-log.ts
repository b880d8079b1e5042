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
  /** Terminal events of recovered turns (recover.ts), with their StreamStarted, for their resumers. */
  private readonly recovered = new Map<string, { terminal: TurnEvent; started?: TurnEvent }>();
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
    const recovered = this.recovered.get(streamId);
    if (!recovered) return;
    const { terminal, started } = recovered;
    let held = afterSeq;
    if (started && held < 0) {
      yield started;
      held = started.seq;
    }
    yield terminal.seq > held ? terminal : { ...terminal, seq: held + 1 };
  }

  async recover(): Promise<LoggedTurn | null> {
    return null;
  }

  async appendTerminal(streamId: string, event: TurnEvent, started?: TurnEvent): Promise<void> {
    this.recovered.set(streamId, { terminal: event, started });
    this.expire(() => this.recovered.delete(streamId));
  }

  async shutdown(): Promise<void> {
    for (const expiry of this.expiries) clearTimeout(expiry);
    this.expiries.clear();
    this.turns.clear();
    this.recovered.clear();
  }
}
