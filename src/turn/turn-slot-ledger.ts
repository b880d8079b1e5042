import { isTurnSlotMessage, type TurnSlotMessage } from "./turn-slots.ts";

// How long the primary waits for a worker to give back slots; a late answer still counts.
const RECLAIM_TIMEOUT_MS = 500;

/** A worker as the ledger sees it. */
export interface SlotHolder {
  send(message: TurnSlotMessage): void;
}

/**
 * The primary's account of MAX_RUNNING_TURNS across its workers (see
 * turn-slots.ts): the slots free and those each worker holds, always
 * summing to the limit. Requests for more are answered one at a time; with
 * fewer free than asked for, every other worker is asked for the rest, or
 * half of its unused slots if that is more, and the requester gets all that
 * is free then.
 */
export class TurnSlotLedger {
  private free: number;
  private readonly held = new Map<SlotHolder, number>();
  private readonly reclaims = new Map<number, () => void>();
  private requests: Promise<void> = Promise.resolve();
  private nextId = 0;

  constructor(limit: number) {
    this.free = limit;
  }

  /** The slots no worker holds. */
  get unheld(): number {
    return this.free;
  }

  /** What `holder` holds (undefined once it left). */
  heldBy(holder: SlotHolder): number | undefined {
    return this.held.get(holder);
  }

  /** Takes up to `slots` of the free ones for a worker about to start; join() it with what this returned. */
  take(slots: number): number {
    const taken = Math.max(0, Math.min(slots, this.free));
    this.free -= taken;
    return taken;
  }

  join(holder: SlotHolder, slots: number): void {
    this.held.set(holder, slots);
  }

  /** A worker gone: what it held is free again. */
  leave(holder: SlotHolder): void {
    this.free += this.held.get(holder) ?? 0;
    this.held.delete(holder);
  }

  /** A message from `holder`; anything but the slots' messages is ignored. */
  receive(holder: SlotHolder, message: unknown): void {
    if (!isTurnSlotMessage(message)) return;
    if (message.type === "gateway:turn-slots-more") {
      // A worker that can no longer be written to has gone; its exit frees what it held.
      this.requests = this.requests.then(() => this.more(holder, message.id, message.need)).catch(() => {});
    } else if (message.type === "gateway:turn-slots-given") {
      const held = this.held.get(holder);
      if (held !== undefined) {
        this.held.set(holder, held - message.given);
        this.free += message.given;
      }
      this.reclaims.get(message.id)?.();
    }
  }

  private async more(holder: SlotHolder, id: number, need: number): Promise<void> {
    if (this.free < need) {
      const others = [...this.held.keys()].filter((other) => other !== holder);
      await Promise.all(others.map((other) => this.reclaim(other, need - this.free)));
    }
    const held = this.held.get(holder);
    if (held === undefined) return;
    const granted = this.free;
    this.free = 0;
    this.held.set(holder, held + granted);
    holder.send({ type: "gateway:turn-slots-granted", id, granted });
  }

  private reclaim(holder: SlotHolder, need: number): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.reclaims.delete(id);
        resolve();
      };
      const timer = setTimeout(done, RECLAIM_TIMEOUT_MS);
      timer.unref();
      this.reclaims.set(id, done);
      holder.send({ type: "gateway:turn-slots-reclaim", id, need });
    });
  }
}
