import cluster from "node:cluster";

// With several workers (src/workers.ts), MAX_RUNNING_TURNS bounds the whole
// instance, not each worker: the primary holds the slots (turn-slot-ledger.ts)
// and each worker a share it admits from without asking. A worker whose share
// is taken asks the primary for more, which takes back half of what the others
// leave unused. Connections, and so turns, do not reach the workers evenly: a
// fixed split refused turns while the instance was under its bound (BENCHMARKS.md).

/** The environment variable the primary gives each worker its first slots in. */
export const TURN_SLOTS_ENV = "GATEWAY_TURN_SLOTS";

export type TurnSlotMessage =
  | { type: "gateway:turn-slots-more"; id: number; need: number }
  | { type: "gateway:turn-slots-granted"; id: number; granted: number }
  | { type: "gateway:turn-slots-reclaim"; id: number; need: number }
  | { type: "gateway:turn-slots-given"; id: number; given: number };

const TYPES = new Set<string>([
  "gateway:turn-slots-more",
  "gateway:turn-slots-granted",
  "gateway:turn-slots-reclaim",
  "gateway:turn-slots-given",
]);

export function isTurnSlotMessage(message: unknown): message is TurnSlotMessage {
  const type = (message as { type?: unknown } | null)?.type;
  return typeof type === "string" && TYPES.has(type);
}

/** How a worker and its primary talk (node:cluster's IPC, or a pair of queues in tests). */
export interface TurnSlotChannel {
  send(message: TurnSlotMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

/** In a worker given slots by its primary: its first slots and the IPC channel to the primary; else undefined. */
export function workerInstanceSlots(): { initial: number; channel: TurnSlotChannel } | undefined {
  const initial = process.env[TURN_SLOTS_ENV];
  if (!cluster.isWorker || initial === undefined) return undefined;
  return {
    initial: Number(initial),
    channel: {
      send: (message) => {
        // A primary gone takes the instance down with it; an answer then matters to no one.
        if (process.connected) process.send?.(message, undefined, undefined, () => {});
      },
      onMessage: (listener) => process.on("message", listener),
    },
  };
}

/** The bound on running turns a process admits by: this process alone, or its share of the instance's. */
export interface RunningTurnBound {
  /** Whether the turns counted now, the new one among them, fit; may ask the primary. */
  fits(): boolean | Promise<boolean>;
  /** Whether a new turn would be refused now, as /ready tells, without asking anyone. */
  full(): boolean;
}

/** MAX_RUNNING_TURNS of a process alone; 0 is no bound. */
export function localBound(limit: number, count: () => number): RunningTurnBound {
  return {
    fits: () => limit === 0 || count() <= limit,
    full: () => limit > 0 && count() >= limit,
  };
}

// How long a worker waits for the primary's answer; past it the turn is refused.
const ASK_TIMEOUT_MS = 1_000;
// After the primary had nothing to give, how long /ready says the worker is full.
const EXHAUSTED_MS = 1_000;

/**
 * A worker's share of the instance's running turns. `count` is the turns
 * running or being prepared in this worker. Slots the primary sends after its
 * answer came too late are still taken in, so none is lost between the two.
 */
export class WorkerTurnSlots implements RunningTurnBound {
  private slots: number;
  private readonly channel: TurnSlotChannel;
  private readonly count: () => number;
  private asking: Promise<void> | null = null;
  /** Turns counted in `count` that wait for the primary's answer. */
  private waiting = 0;
  private exhaustedUntil = 0;
  private nextId = 0;
  private readonly answers = new Map<number, () => void>();

  constructor(initial: number, channel: TurnSlotChannel, count: () => number) {
    this.slots = initial;
    this.channel = channel;
    this.count = count;
    channel.onMessage((message) => this.receive(message));
  }

  /** The slots this worker holds now. */
  get held(): number {
    return this.slots;
  }

  fits(): boolean | Promise<boolean> {
    return this.count() - this.waiting <= this.slots || this.askForMore();
  }

  full(): boolean {
    return this.count() >= this.slots && Date.now() < this.exhaustedUntil;
  }

  private async askForMore(): Promise<boolean> {
    this.waiting++;
    try {
      // Turns that find the share taken at once share one request; the second
      // asks for those that came while the first was out.
      for (let tries = 0; tries < 2; tries++) {
        const before = this.slots;
        this.asking ??= this.ask().finally(() => (this.asking = null));
        await this.asking;
        // The waiting turns wake in order, each admitted one no longer waiting.
        if (this.count() - this.waiting + 1 <= this.slots) return true;
        if (this.slots <= before) break;
      }
      this.exhaustedUntil = Date.now() + EXHAUSTED_MS;
      return false;
    } finally {
      this.waiting--;
    }
  }

  private ask(): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.answers.delete(id);
        resolve();
      };
      const timer = setTimeout(done, ASK_TIMEOUT_MS);
      timer.unref();
      this.answers.set(id, done);
      this.channel.send({ type: "gateway:turn-slots-more", id, need: Math.max(1, this.count() - this.slots) });
    });
  }

  private receive(message: unknown): void {
    if (!isTurnSlotMessage(message)) return;
    if (message.type === "gateway:turn-slots-granted") {
      this.slots += message.granted;
      if (message.granted > 0) this.exhaustedUntil = 0;
      this.answers.get(message.id)?.();
    } else if (message.type === "gateway:turn-slots-reclaim") {
      // What the asking worker needs, or half of what is unused if that is more, from what is unused.
      const unused = Math.max(0, this.slots - this.count());
      const given = Math.min(unused, Math.max(message.need, Math.ceil(unused / 2)));
      this.slots -= given;
      this.channel.send({ type: "gateway:turn-slots-given", id: message.id, given });
    }
  }
}
