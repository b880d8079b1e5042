// MAX_RUNNING_TURNS across several workers (src/turn/turn-slots.ts and
// turn-slot-ledger.ts): a worker whose share is taken gets the slots another
// leaves unused, the instance never admits past the limit, and no slot is lost
// to a worker that dies or answers late. The workers here talk to the ledger
// through queues as node:cluster's IPC would (each message a later task);
// test/server-workers-turn-bound.test.ts runs two real workers.
import { describe, expect, it } from "vitest";
import { type SlotHolder, TurnSlotLedger } from "../src/turn/turn-slot-ledger.ts";
import { type TurnSlotMessage, WorkerTurnSlots } from "../src/turn/turn-slots.ts";

interface Worker {
  slots: WorkerTurnSlots;
  holder: SlotHolder;
  /** Turns running or being prepared in it. */
  turns: number;
  /** How late its messages reach the primary. */
  delayMs: number;
}

function instance(limit: number, workers: number) {
  const ledger = new TurnSlotLedger(limit);
  const all: Worker[] = [];
  for (let i = 0; i < workers; i++) {
    const first = ledger.take(Math.ceil(ledger.unheld / (workers - i)));
    let toWorker: (message: unknown) => void = () => {};
    const worker = { delayMs: 0, turns: 0 } as Worker;
    worker.holder = { send: (message) => setImmediate(() => toWorker(message)) };
    worker.slots = new WorkerTurnSlots(
      first,
      {
        send: (message: TurnSlotMessage) => {
          const deliver = () => ledger.receive(worker.holder, message);
          if (worker.delayMs > 0) setTimeout(deliver, worker.delayMs);
          else setImmediate(deliver);
        },
        onMessage: (listener) => (toWorker = listener),
      },
      () => worker.turns,
    );
    ledger.join(worker.holder, first);
    all.push(worker);
  }
  /** Admits a turn as the registry does: counted first, then judged; false when refused. */
  const admit = async (worker: Worker): Promise<boolean> => {
    worker.turns++;
    const fits = await worker.slots.fits();
    if (!fits) worker.turns--;
    return fits;
  };
  /** Every slot is free or held, and each worker holds what the ledger says it does. */
  const accounted = () => {
    const held = all.filter((w) => ledger.heldBy(w.holder) !== undefined);
    for (const worker of held) expect(worker.slots.held).toBe(ledger.heldBy(worker.holder));
    expect(ledger.unheld + held.reduce((sum, w) => sum + ledger.heldBy(w.holder)!, 0)).toBe(limit);
  };
  return { ledger, workers: all, admit, accounted };
}

describe("MAX_RUNNING_TURNS shared by workers", () => {
  it("splits the slots evenly at the start, the remainder to the first", () => {
    const { workers, ledger } = instance(5, 3);
    expect(workers.map((w) => w.slots.held)).toEqual([2, 2, 1]);
    expect(ledger.unheld).toBe(0);
  });

  it("admits up to the instance's limit on whichever worker the turns reach, and not one more", async () => {
    const { workers, admit, accounted } = instance(4, 2);
    const [a, b] = workers;
    // Every turn reaches the first worker: it gets what the second leaves unused.
    expect(await admit(a)).toBe(true);
    expect(await admit(a)).toBe(true);
    expect(await admit(a)).toBe(true);
    accounted();
    expect(await admit(b)).toBe(true);
    accounted();
    // Four running: the fifth is refused wherever it arrives, and /ready says so there.
    expect(await admit(b)).toBe(false);
    expect(b.slots.full()).toBe(true);
    expect(await admit(a)).toBe(false);
    expect(a.turns + b.turns).toBe(4);
    accounted();
    // The first worker's turns end: the second takes their slots.
    a.turns = 0;
    expect(await admit(b)).toBe(true);
    expect(await admit(b)).toBe(true);
    expect(b.slots.full()).toBe(false);
    accounted();
  });

  it("admits turns that arrive at once while a worker asks its primary, never past the limit", async () => {
    const { workers, admit, accounted } = instance(10, 2);
    const [a] = workers;
    const results = await Promise.all(Array.from({ length: 14 }, () => admit(a)));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(a.turns).toBe(10);
    accounted();
  });

  it("takes in slots a worker gave back after the primary stopped waiting for them", async () => {
    const { ledger, workers, admit, accounted } = instance(4, 2);
    const [a, b] = workers;
    // The first worker answers past the primary's wait (500 ms): the turn is refused meanwhile.
    a.delayMs = 800;
    b.turns = 2;
    expect(await admit(b)).toBe(false);
    // Its answer still counts when it comes: the slot it gave is free, and the next turn gets it.
    await new Promise<void>((resolve) => setTimeout(resolve, 600));
    expect(ledger.unheld).toBe(1);
    accounted();
    expect(await admit(b)).toBe(true);
    expect(b.slots.held).toBe(3);
    accounted();
  });

  it("frees what a dead worker held", async () => {
    const { ledger, workers, admit } = instance(4, 2);
    const [a, b] = workers;
    b.turns = 2;
    ledger.leave(a.holder);
    expect(ledger.unheld).toBe(2);
    expect(await admit(b)).toBe(true);
    expect(await admit(b)).toBe(true);
    expect(await admit(b)).toBe(false);
    expect(b.slots.held).toBe(4);
    expect(ledger.unheld).toBe(0);
  });
});
