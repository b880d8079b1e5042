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
  /** A worker forked; it says hello (and gets its share) once `start` is called. */
  const fork = (): Worker & { start(): Promise<void> } => {
    let toWorker: (message: unknown) => void = () => {};
    const worker = { delayMs: 0, turns: 0 } as Worker & { start(): Promise<void> };
    worker.holder = { send: (message) => setImmediate(() => toWorker(message)) };
    ledger.started(worker.holder);
    worker.start = async () => {
      worker.slots = new WorkerTurnSlots(
        {
          send: (message: TurnSlotMessage) => {
            const deliver = () => ledger.receive(worker.holder, message);
            if (worker.delayMs > 0) setTimeout(deliver, worker.delayMs);
            else setImmediate(deliver);
          },
          onMessage: (listener: (message: unknown) => void) => (toWorker = listener),
        },
        () => worker.turns,
      );
      await until(
        () => ledger.heldBy(worker.holder) !== undefined && worker.slots.held === ledger.heldBy(worker.holder),
      );
    };
    return worker;
  };
  /** Admits a turn as the registry does: counted first, then judged; false when refused. */
  const admit = async (worker: Worker): Promise<boolean> => {
    worker.turns++;
    const fits = await worker.slots.fits();
    if (!fits) worker.turns--;
    return fits;
  };
  /** Every slot is free or held, and each worker holds what the ledger says it does (once messages settle). */
  const accounted = async () => {
    await until(() =>
      all.every((w) => ledger.heldBy(w.holder) === undefined || w.slots.held === ledger.heldBy(w.holder)),
    );
    const held = all.filter((w) => ledger.heldBy(w.holder) !== undefined);
    expect(ledger.unheld + held.reduce((sum, w) => sum + ledger.heldBy(w.holder)!, 0)).toBe(limit);
  };
  const start = async () => {
    for (let i = 0; i < workers; i++) all.push(fork());
    for (const worker of all) await (worker as ReturnType<typeof fork>).start();
    return all;
  };
  return { ledger, all, fork, start, admit, accounted };
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe("MAX_RUNNING_TURNS shared by workers", () => {
  it("gives each worker an even share when it says hello, the remainder to the first", async () => {
    const { ledger, start } = instance(5, 3);
    expect((await start()).map((w) => w.slots.held)).toEqual([2, 2, 1]);
    expect(ledger.unheld).toBe(0);
  });

  it("admits up to the instance's limit on whichever worker the turns reach, and not one more", async () => {
    const { start, admit, accounted } = instance(4, 2);
    const [a, b] = await start();
    // Every turn reaches the first worker: it gets what the second leaves unused.
    expect(await admit(a)).toBe(true);
    expect(await admit(a)).toBe(true);
    expect(await admit(a)).toBe(true);
    expect(await admit(b)).toBe(true);
    await accounted();
    // Four running: the fifth is refused wherever it arrives, and /ready says so there.
    expect(await admit(b)).toBe(false);
    expect(b.slots.full()).toBe(true);
    expect(await admit(a)).toBe(false);
    expect(a.turns + b.turns).toBe(4);
    await accounted();
    // The first worker's turns end: the second takes their slots.
    a.turns = 0;
    expect(await admit(b)).toBe(true);
    expect(await admit(b)).toBe(true);
    await accounted();
    expect(b.slots.full()).toBe(false);
  });

  it("admits turns that arrive at once while a worker asks its primary, never past the limit", async () => {
    const { start, admit, accounted } = instance(10, 2);
    const [a] = await start();
    const results = await Promise.all(Array.from({ length: 14 }, () => admit(a)));
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(a.turns).toBe(10);
    await accounted();
  });

  it("says it is full (/ready) while the instance is, whichever worker is asked, and no longer once a turn ends", async () => {
    const { start, admit } = instance(4, 2);
    const [a, b] = await start();
    for (const worker of [a, b, a, b]) expect(await admit(worker)).toBe(true);
    // Neither has been refused: each asked ahead when its share was taken, and the primary had none.
    await until(() => a.slots.full() && b.slots.full());
    await sleep(1_300);
    expect([a.slots.full(), b.slots.full()]).toEqual([true, true]);
    // A turn ends on the first worker: the second learns of the room within a second or so.
    a.turns--;
    expect(a.slots.full()).toBe(false);
    await until(() => !b.slots.full(), 3_000);
    expect(await admit(b)).toBe(true);
  });

  it("says it is full when its share was taken by slots given back or by a turn that waited", async () => {
    const { ledger, start, admit, accounted } = instance(4, 2);
    const [a, b] = await start();
    for (const worker of [b, b, b, a]) expect(await admit(worker)).toBe(true);
    await accounted();
    expect(ledger.unheld).toBe(0);
    await until(() => a.slots.full() && b.slots.full());
    await sleep(1_300);
    expect([a.slots.full(), b.slots.full()]).toEqual([true, true]);
  });

  it("stops asking its primary once closed (the worker drains)", async () => {
    const sent: TurnSlotMessage[] = [];
    let deliver: (message: unknown) => void = () => {};
    let turns = 0;
    const slots = new WorkerTurnSlots({ send: (m) => sent.push(m), onMessage: (l) => (deliver = l) }, () => turns);
    deliver({ type: "gateway:turn-slots-granted", id: 0, granted: 1 });
    turns = 1;
    expect(slots.fits()).toBe(true);
    // Its share just taken, it asked ahead; the primary has none.
    deliver({ type: "gateway:turn-slots-granted", id: sent.at(-1)!.id, granted: 0 });
    await until(() => slots.full());
    slots.close();
    const before = sent.length;
    await sleep(1_500);
    expect(sent.length).toBe(before);
  });

  it("answers a request as soon as the slots given back cover it, not after the slowest worker", async () => {
    const { start, admit, accounted } = instance(12, 4);
    const [a, b, c, d] = await start();
    // The idle worker answers 300 ms late; the three others are full and each gets one more turn at once.
    d.delayMs = 300;
    a.turns = b.turns = c.turns = 3;
    expect(await Promise.all([admit(a), admit(b), admit(c)])).toEqual([true, true, true]);
    await accounted();
  });

  it("takes in slots a worker gave back after the primary stopped waiting for them", async () => {
    const { ledger, start, admit, accounted } = instance(4, 2);
    const [a, b] = await start();
    // The first worker answers past the primary's wait (400 ms): its answer comes while the second request waits.
    a.delayMs = 600;
    b.turns = 2;
    expect(await admit(b)).toBe(true);
    // The second request's reclaim is answered late too: that slot is not lost either, the second
    // worker (its share taken again) gets it ahead of its next turn.
    await until(() => b.slots.held === 4 && a.slots.held === 0);
    expect(ledger.unheld).toBe(0);
    await accounted();
  });

  it("frees what a dead worker held; a replacement gets its share only once it can answer", async () => {
    const { ledger, start, fork, admit, accounted, all } = instance(4, 2);
    const [a, b] = await start();
    b.turns = 2;
    ledger.leave(a.holder);
    expect(ledger.unheld).toBe(2);
    // The replacement is starting: it is neither given slots nor asked for any yet.
    const replacement = fork();
    const asked = Date.now();
    expect(await admit(b)).toBe(true);
    expect(Date.now() - asked).toBeLessThan(300);
    expect(await admit(b)).toBe(true);
    expect(await admit(b)).toBe(false);
    await replacement.start();
    all.splice(0, 1, replacement);
    // All four run on the second worker; the replacement has none to give a turn.
    expect(await admit(replacement)).toBe(false);
    b.turns--;
    expect(await admit(replacement)).toBe(true);
    await accounted();
  });
});
