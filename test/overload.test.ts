// Overload is refused, not suffered: past MAX_RUNNING_TURNS a new turn gets
// offline:chat with a retry hint before anything is stored or charged, /ready
// says so, and the running turns finish. Runs on PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { heldTextTurn } from "./support/fake-streamer.ts";
import { expectError, expectOk, failOnUnhandledRejections, insertUser } from "./support/fixtures.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import { eventually, sendInput, subscribeWithFetch } from "./support/sse.ts";

failOnUnhandledRejections();

const { fake, gateway } = useStreamerGateway({ MAX_RUNNING_TURNS: "2" });

/** Answers the first half of each turn, then waits for `release()` before the rest. */
function holdAnswers(): () => void {
  const { promise: opened, resolve: open } = Promise.withResolvers<void>();
  fake.handle(heldTextTurn("Part of it", ", and the rest.", () => opened));
  return open;
}

async function readiness() {
  const response = await fetch(`${gateway.url}/ready`);
  return { status: response.status, body: await response.json() };
}

describe("overload", () => {
  it("refuses a third concurrent turn with offline:chat and a retry hint, storing and charging nothing; the running ones finish", async () => {
    const release = holdAnswers();
    const token = await gateway.tokenFor(await insertUser(gateway.database.db.prisma));
    const left = async () =>
      expectOk(await gateway.gql(`{ me { messagesLeftToday } }`, {}, token)).me.messagesLeftToday;
    const running = ["first", "second"].map((text) => subscribeWithFetch(gateway.url, sendInput(text), { token }));
    await eventually(async () => fake.requests.length >= 2, 10_000);
    expect(await readiness()).toEqual({ status: 503, body: { ready: false, overloaded: true } });
    const quotaBefore = await left();

    const refused = sendInput("third");
    const third = await subscribeWithFetch(gateway.url, refused, { token });
    expect(third.events).toEqual([]);
    expectError(third.results[0], "offline:chat");
    expect(third.results[0].errors![0].extensions).toMatchObject({ retryable: true, retryAfterSeconds: 5 });
    expect(fake.requests.length).toBe(2);
    const prisma = gateway.database.db.prisma;
    expect(await prisma.chat.findUnique({ where: { id: refused.input.chatId } })).toBeNull();
    expect(await prisma.message.findUnique({ where: { id: refused.input.message.id } })).toBeNull();
    expect(await left()).toBe(quotaBefore);
    const scraped = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(scraped).toContain('chat_gateway_refused_for_overload_total{reason="running_turns"} 1\n');

    release();
    for (const turn of await Promise.all(running)) {
      expect(turn.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
      expect(turn.events.at(-1)!.message.parts).toContainEqual({
        __typename: "TextPart",
        text: "Part of it, and the rest.",
      });
    }
    await eventually(async () => (await readiness()).status === 200, 10_000);
    expect(await readiness()).toEqual({ status: 200, body: { ready: true } });

    const after = await subscribeWithFetch(gateway.url, sendInput("fourth", { chatId: randomUUID() }), { token });
    expect(after.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
  });
});
