import { isTurnSlotMessage, PendingAnswers, type TurnSlotMessage } from "./turn-slots.ts";

// How long the primary waits for the other workers to give back slots; a late answer still counts.
const RECLAIM_TIMEOUT_MS = 400;

/** A worker as the ledger sees it. */
export interface SlotHolder {
  send(message: TurnSlotMessage): void;
}

/**
 * The primary's account of MAX_RUNNING_TURNS across its workers (see
 * turn-slots.ts): the slots free and those each worker holds, always
 * summing to the limit. A worker gets its share once it says it can answer
 * (its `hello`, sent when its turn registry exists): an even share of what is
 * free among the workers yet to say it, so a replacement takes what is free.
 * Requests for more are answered one at a time; with fewer free than asked
 * for, every other worker is asked for the rest (or half of its unused slots,
 * if that is more); the requester is answered as soon as what is free covers
 * its need, or when the others have answered or the wait ran out, with what
 * it needs (or half of what is free, if that is more).
 */
export class TurnSlotLedger {
  private free: number;
  private readonly held = new Map<SlotHolder, number>();
  /** Workers started that have not said hello yet. */
  private readonly starting = new Set<SlotHolder>();
  private readonly reclaims = new PendingAnswers<void>();
  private requests: Promise<void> = Promise.resolve();
  /** Called whenever slots come back, so a request waiting for them can go on. */
  private onGiven: (() => void) | null = null;

  constructor(limit: number) {
    this.free = limit;
  }

  /** The slots no worker holds. */
  get unheld(): number {
    return this.free;
  }

  /** What `holder` holds (undefined until its hello, and once it left). */
  heldBy(holder: SlotHolder): number | undefined {
    return this.held.get(holder);
  }

  /** A worker forked: it gets its share when it says hello. */
  started(holder: SlotHolder): void {
    this.starting.add(holder);
  }

  /** A worker gone: what it held is free again. */
  leave(holder: SlotHolder): void {
    this.starting.delete(holder);
    this.free += this.held.get(holder) ?? 0;
    this.held.delete(holder);
  }

  /** A message from `holder`; anything but the slots' messages is ignored. */
  receive(holder: SlotHolder, message: unknown): void {
    if (!isTurnSlotMessage(message)) return;
    if (message.type === "gateway:turn-slots-hello") {
      if (!this.starting.delete(holder)) return;
      const share = Math.min(this.free, Math.ceil(this.free / (this.starting.size + 1)));
      this.free -= share;
      this.held.set(holder, share);
      holder.send({ type: "gateway:turn-slots-granted", id: message.id, granted: share });
    } else if (message.type === "gateway:turn-slots-more") {
      // A worker that can no longer be written to has gone; its exit frees what it held.
      this.requests = this.requests.then(() => this.more(holder, message.id, message.need)).catch(() => {});
    } else if (message.type === "gateway:turn-slots-given") {
      const held = this.held.get(holder);
      if (held !== undefined) {
        this.held.set(holder, held - message.given);
        this.free += message.given;
      }
      this.reclaims.answer(message.id, undefined);
      this.onGiven?.();
    }
  }

  private async more(holder: SlotHolder, id: number, need: number): Promise<void> {
    if (this.free < need) {
      const others = [...this.held.keys()].filter((other) => other !== holder);
      const answered = Promise.all(others.map((other) => this.reclaim(other, need - this.free)));
      // One slow worker does not hold up a request the others' slots already cover.
      const covered = new Promise<void>((resolve) => {
        this.onGiven = () => this.free >= need && resolve();
      });
      await Promise.race([answered, covered]);
      this.onGiven = null;
    }
    const held = this.held.get(holder);
    if (held === undefined) return;
    // What it needs, or half of what is free if that is more: the rest stays for the other workers' requests.
    const granted = Math.min(this.free, Math.max(need, Math.ceil(this.free / 2)));
    this.free -= granted;
    this.held.set(holder, held + granted);
    holder.send({ type: "gateway:turn-slots-granted", id, granted });
  }

  private reclaim(holder: SlotHolder, need: number): Promise<void> {
    return this.reclaims.ask(
      (id) => holder.send({ type: "gateway:turn-slots-reclaim", id, need }),
      RECLAIM_TIMEOUT_MS,
      undefined,
    );
  }
}
