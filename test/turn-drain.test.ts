// The registry's drain, in process: turns that start around the moment it
// begins or ends are waited for or stopped, never left running past it.
// (The whole shutdown, signals and all, is test/shutdown-drain.test.ts.)
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { prepareTurn } from "../src/turn/prepare.ts";
import type { TurnRun } from "../src/turn/turn-run.ts";
import { heldTextTurn } from "./support/fake-streamer.ts";
import { insertUser } from "./support/fixtures.ts";
import { useStreamerGateway } from "./support/gateway.ts";

const { fake, gateway } = useStreamerGateway();

/** Stores a turn's first step (user message, quota, Stream row), as sendMessage does before starting it. */
async function preparedTurn(question = "Hello?") {
  const user = await insertUser(gateway.database.db.prisma);
  return prepareTurn(gateway.database.db, gateway.env, user, {
    chatId: randomUUID(),
    message: { id: randomUUID(), role: "user", parts: [{ type: "text", text: question }] },
    model: null,
    visibility: null,
    ownerId: gateway.app.services.turns.instanceId,
  });
}

async function eventsOf(run: TurnRun) {
  const events = [];
  for await (const event of run.subscribe(-1)) events.push(event);
  return events;
}

/** Answers the first half, then waits until `release(question)` before the rest. */
function holdAnswers(): (question: string) => void {
  const gates = new Map<string, { open: () => void; opened: Promise<void> }>();
  const gate = (question: string) => {
    if (!gates.has(question)) {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      gates.set(question, { open, opened });
    }
    return gates.get(question)!;
  };
  fake.handle(heldTextTurn("Part of it", ", and the rest.", (call) => gate(call.userText).opened));
  return (question) => gate(question).open();
}

describe("drain", () => {
  it("waits for the running turns, and for one that starts during the grace", async () => {
    const release = holdAnswers();
    const first = gateway.app.services.turns.start(await preparedTurn("first"));
    const late = await preparedTurn("late");
    let drainedAt: { firstDone: boolean; lateDone: boolean } | null = null;
    const drained = gateway.app.services.turns.drain("The gateway is shutting down.", { graceMs: 60_000 });
    const second = gateway.app.services.turns.start(late);
    void drained.then(() => (drainedAt = { firstDone: first.done, lateDone: second.done }));

    release("first");
    expect((await eventsOf(first)).at(-1)).toMatchObject({ __typename: "StreamFinished" });
    release("late");
    expect((await eventsOf(second)).at(-1)).toMatchObject({ __typename: "StreamFinished" });
    await drained;
    expect(drainedAt).toEqual({ firstDone: true, lateDone: true });
  });

  it("a turn admitted before the drain began but started after it ended is stopped at once, its stream stored aborted", async () => {
    const release = holdAnswers();
    const turn = await preparedTurn("late");
    const report = await gateway.app.services.turns.drain("The gateway is shutting down.", { graceMs: 60_000 });
    expect(report).toEqual({ finished: 0, stopped: 0 });

    const run = gateway.app.services.turns.start(turn);
    const events = await eventsOf(run);
    release("late");
    // Stopped before any part arrived: no partial answer, the user's message kept.
    expect(events.map((event) => event.__typename)).toEqual(["StreamStarted", "StreamAborted"]);
    expect(events.at(-1)).toMatchObject({ reason: "The gateway is shutting down.", partialMessage: null });
    const stored = await gateway.database.db.prisma.message.findMany({ where: { chatId: turn.chat.id } });
    expect(stored.map((message) => [message.role, message.status])).toEqual([["user", "complete"]]);
    const stream = await gateway.database.db.prisma.stream.findUnique({ where: { id: turn.streamId } });
    expect(stream?.status).toBe("aborted");
  });
});
