import cluster from "node:cluster";

// With several workers (src/workers.ts), MAX_RUNNING_TURNS bounds the whole
// instance, not each worker: the primary holds the slots (turn-slot-ledger.ts)
// and each worker a share it admits from without asking. A worker whose share
// is taken asks the primary for more, which takes back from the others what it
// needs (or half of what they leave unused, if that is more). Connections, and
// so turns, do not reach the workers evenly: a fixed split refused turns while
// the instance was under its bound (BENCHMARKS.md).

/** Set by the primary in its workers' environment: the worker takes its share of the instance's turns from it. */
export const TURN_SLOTS_ENV = "GATEWAY_TURN_SLOTS";

export type TurnSlotMessage =
  | { type: "gateway:turn-slots-hello"; id: number }
  | { type: "gateway:turn-slots-more"; id: number; need: number }
  | { type: "gateway:turn-slots-granted"; id: number; granted: number }
  | { type: "gateway:turn-slots-reclaim"; id: number; need: number }
  | { type: "gateway:turn-slots-given"; id: number; given: number };

const TYPES = new Set<string>([
  "gateway:turn-slots-hello",
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

/**
 * Requests awaiting their answer, by id, on either side of the channel: one
 * not answered within its bound resolves with its fallback, and an answer
 * that comes later finds no one waiting (the caller's handler still counts it).
 */
export class PendingAnswers<T> {
  private nextId = 0;
  private readonly waiting = new Map<number, (value: T) => void>();

  /** Sends the request `send` makes with a fresh id; resolves with its answer, or `fallback` after `timeoutMs`. */
  ask(send: (id: number) => void, timeoutMs: number, fallback: T): Promise<T> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      const done = (value: T) => {
        clearTimeout(timer);
        this.waiting.delete(id);
        resolve(value);
      };
      const timer = setTimeout(() => done(fallback), timeoutMs);
      timer.unref();
      this.waiting.set(id, done);
      send(id);
    });
  }

  answer(id: number, value: T): void {
    this.waiting.get(id)?.(value);
  }
}

/** In a worker whose primary shares out MAX_RUNNING_TURNS: the IPC channel to the primary; else undefined. */
export function workerInstanceSlots(): { channel: TurnSlotChannel } | undefined {
  if (!cluster.isWorker || process.env[TURN_SLOTS_ENV] !== "shared") return undefined;
  return {
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
  close?(): void;
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
// While a worker's share is taken and the primary had none to give, how often it asks again.
const RECHECK_MS = 1_000;

/**
 * A worker's share of the instance's running turns, from none: the primary
 * sends the first share in answer to its hello. `count` is the turns running
 * or being prepared in this worker. A worker whose share is just taken asks
 * for more ahead of its next turn, and while the primary has none it is full
 * (what /ready says) and asks again every RECHECK_MS. Slots the primary sends
 * after the worker stopped waiting are still taken in, so none is lost.
 */
export class WorkerTurnSlots implements RunningTurnBound {
  private slots = 0;
  private readonly channel: TurnSlotChannel;
  private readonly count: () => number;
  private asking: Promise<void> | null = null;
  /** Turns counted in `count` that wait for the primary's answer. */
  private waiting = 0;
  /** The last answer gave nothing while the share was taken. */
  private exhausted = false;
  private recheck: NodeJS.Timeout | null = null;
  private closed = false;
  private readonly answers = new PendingAnswers<number>();

  constructor(channel: TurnSlotChannel, count: () => number) {
    this.channel = channel;
    this.count = count;
    channel.onMessage((message) => this.receive(message));
    // Its share comes as a grant no one waits for.
    channel.send({ type: "gateway:turn-slots-hello", id: -1 });
  }

  /** The slots this worker holds now. */
  get held(): number {
    return this.slots;
  }

  fits(): boolean | Promise<boolean> {
    if (this.count() - this.waiting > this.slots) return this.askForMore();
    this.lookAhead();
    return true;
  }

  /** No more asking of its own (the worker drains). */
  close(): void {
    this.closed = true;
    if (this.recheck) clearTimeout(this.recheck);
    this.recheck = null;
  }

  full(): boolean {
    return this.exhausted && this.count() >= this.slots;
  }

  private async askForMore(): Promise<boolean> {
    this.waiting++;
    let admitted = false;
    try {
      // Turns that find the share taken at once share one request; the second
      // asks for those that came while the first was out, and for slots a
      // slow worker gave back after the primary stopped waiting for it.
      for (let tries = 0; tries < 2 && !admitted; tries++) {
        await this.askNow();
        // The waiting turns wake in order, each admitted one no longer waiting.
        admitted = this.count() - this.waiting + 1 <= this.slots;
      }
    } finally {
      this.waiting--;
    }
    if (admitted) this.lookAhead();
    return admitted;
  }

  /** Once a turn admitted takes the share, asks for more ahead of the next turn; its answer tells /ready. */
  private lookAhead(): void {
    if (this.closed || this.exhausted || this.asking || this.waiting > 0) return;
    // An idle worker asks when a turn comes: asking ahead, it would pull back what it just gave.
    const turns = this.count();
    if (turns > 0 && turns >= this.slots) void this.askNow();
  }

  /** One request at a time; its answer says whether the worker is full. */
  private askNow(): Promise<void> {
    this.asking ??= this.ask().then((granted) => {
      this.asking = null;
      this.exhausted = granted === 0 && this.count() >= this.slots;
      if (this.exhausted) this.recheckLater();
      else this.lookAhead();
    });
    return this.asking;
  }

  private recheckLater(): void {
    if (this.recheck || this.closed) return;
    this.recheck = setTimeout(() => {
      this.recheck = null;
      if (this.count() >= this.slots) void this.askNow();
      else this.exhausted = false;
    }, RECHECK_MS);
    this.recheck.unref();
  }

  /** Resolves with the slots granted (0 when the primary did not answer in time). */
  private ask(): Promise<number> {
    const need = Math.max(1, this.count() - this.slots);
    return this.answers.ask(
      (id) => this.channel.send({ type: "gateway:turn-slots-more", id, need }),
      ASK_TIMEOUT_MS,
      0,
    );
  }

  private receive(message: unknown): void {
    if (!isTurnSlotMessage(message)) return;
    if (message.type === "gateway:turn-slots-granted") {
      this.slots += message.granted;
      if (message.granted > 0) this.exhausted = false;
      this.answers.answer(message.id, message.granted);
    } else if (message.type === "gateway:turn-slots-reclaim") {
      // What the asking worker needs, or half of what is unused if that is more, from what is unused.
      const unused = Math.max(0, this.slots - this.count());
      const given = Math.min(unused, Math.max(message.need, Math.ceil(unused / 2)));
      this.slots -= given;
      this.channel.send({ type: "gateway:turn-slots-given", id: message.id, given });
      // The primary was short of slots: with none left unused here, take the instance for
      // full (what /ready says) until the next check, rather than ask them back at once.
      if (given > 0 && this.count() >= this.slots) {
        this.exhausted = true;
        this.recheckLater();
      }
    }
  }
}
