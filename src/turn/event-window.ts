import { setImmediate as nextCheckPhase } from "node:timers/promises";
import { isTerminal, ReaderFellBehind, type TurnEvent } from "./turn-log.ts";

const EVENTS_PER_SLICE = 32;

/**
 * A turn's events in this process, read live by any number of readers. The
 * memory log keeps a turn's every event here; the Redis log only the recent
 * ones, once Redis holds the older (trimTo), so a reader left behind the
 * window goes on from Redis.
 */
export class EventWindow {
  private events: TurnEvent[] = [];
  /** The seq of events[0]. */
  private base = 0;
  private wake: (() => void)[] = [];
  ended = false;

  /** How many events it holds now. */
  get size(): number {
    return this.events.length;
  }

  get nextSeq(): number {
    return this.base + this.events.length;
  }

  push(event: TurnEvent): void {
    this.events.push(event);
    if (isTerminal(event)) this.ended = true;
    this.notify();
  }

  /** The events it holds with `after < seq < before`, oldest first. */
  between(after: number, before: number): TurnEvent[] {
    return this.events.slice(Math.max(0, after + 1 - this.base), Math.max(0, before - this.base));
  }

  /** Drops the events before `seq`. */
  trimTo(seq: number): void {
    const drop = Math.min(seq - this.base, this.events.length);
    if (drop <= 0) return;
    this.events = this.events.slice(drop);
    this.base += drop;
  }

  /**
   * The events after `afterSeq`, then live ones until the terminal event or
   * `signal`. Throws ReaderFellBehind when the next one was trimmed.
   */
  async *read(afterSeq: number, signal?: AbortSignal): AsyncGenerator<TurnEvent> {
    let next = afterSeq + 1;
    const onAbort = () => this.notify();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        while (next < this.nextSeq) {
          if (next < this.base) throw new ReaderFellBehind(next - 1);
          yield this.events[next++ - this.base];
          // Speed only: a burst of chunks goes out in slices: each slice's writes leave at
          // the next check phase (src/http/coalesce-writes.ts), and the work
          // queued for that phase runs between slices instead of after the whole burst.
          if (next % EVENTS_PER_SLICE === 0) await nextCheckPhase();
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => this.wake.push(resolve));
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }
}
