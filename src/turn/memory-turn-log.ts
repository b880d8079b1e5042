import { EventWindow } from "./event-window.ts";
import { parseEvent } from "./redis-log-entries.ts";
import type { LoggedTurn, ReadOptions, TurnEvent, TurnLog } from "./turn-log.ts";

/**
 * The turn log without Redis: each turn's events once, in this process, kept
 * for the retention after the turn ends, then as one JSON text (every turn
 * of the retention is held, and its events' objects took about twice the
 * memory: BENCHMARKS.md). Nothing here outlives the process:
 * the embedded mode recovers a turn from its database checkpoint instead, and
 * its resumers get the recovery's terminal event.
 */
export class MemoryTurnLog implements TurnLog {
  /** Running turns' windows; ended turns' events as JSON texts, one a line. */
  private readonly turns = new Map<string, EventWindow | string>();
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
    const window = this.turns.get(streamId);
    if (window instanceof EventWindow) window.push(event);
  }

  note(): void {}

  end(streamId: string): void {
    // Readers already on the window read on from it; later ones get the text.
    const window = this.turns.get(streamId);
    if (window instanceof EventWindow && window.ended) {
      this.turns.set(
        streamId,
        window
          .between(-1, window.nextSeq)
          .map((event) => JSON.stringify(event))
          .join("\n"),
      );
    }
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
    const kept = this.turns.get(streamId);
    if (kept instanceof EventWindow) {
      yield* kept.read(afterSeq, signal);
      return;
    }
    if (kept !== undefined) {
      for (const line of kept.split("\n")) {
        if (signal?.aborted) return;
        const event = parseEvent(line);
        if (event.seq > afterSeq) yield event;
      }
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
