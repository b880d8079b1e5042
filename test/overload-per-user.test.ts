// One user cannot take an instance's turn slots: past MAX_RUNNING_TURNS_PER_USER
// that user's new turn gets rate_limit:chat before anything is stored or
// charged, while other users' turns are admitted and /ready stays ready.
import { describe, expect, it } from "vitest";
import { heldTextTurn } from "./support/fake-streamer.ts";
import { expectError, expectOk, failOnUnhandledRejections, insertUser } from "./support/fixtures.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import { eventually, sendInput, subscribeWithFetch } from "./support/sse.ts";

failOnUnhandledRejections();

const { fake, gateway } = useStreamerGateway({ MAX_RUNNING_TURNS: "3", MAX_RUNNING_TURNS_PER_USER: "2" });

describe("turns running at once per user", () => {
  it("refuses a user's third running turn with rate_limit:chat, storing and charging nothing; others go on", async () => {
    const { promise: opened, resolve: release } = Promise.withResolvers<void>();
    fake.handle(heldTextTurn("Part of it", ", and the rest.", () => opened));
    const prisma = gateway.database.db.prisma;
    const token = await gateway.tokenFor(await insertUser(prisma));
    const otherToken = await gateway.tokenFor(await insertUser(prisma));
    const left = async () =>
      expectOk(await gateway.gql(`{ me { messagesLeftToday } }`, {}, token)).me.messagesLeftToday;
    const running = ["first", "second"].map((text) => subscribeWithFetch(gateway.url, sendInput(text), { token }));
    await eventually(async () => fake.requests.length >= 2, 10_000);
    const quotaBefore = await left();

    const refused = sendInput("third");
    const third = await subscribeWithFetch(gateway.url, refused, { token });
    expect(third.events).toEqual([]);
    expectError(third.results[0], "rate_limit:chat");
    expect(third.results[0].errors![0].extensions).toMatchObject({ reason: "too_many_running_turns" });
    expect(await prisma.chat.findUnique({ where: { id: refused.input.chatId } })).toBeNull();
    expect(await left()).toBe(quotaBefore);
    expect((await fetch(`${gateway.url}/ready`)).status).toBe(200);
    const scraped = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(scraped).toContain("chat_gateway_refused_user_running_turns_total 1\n");

    // Another user is admitted meanwhile.
    const others = subscribeWithFetch(gateway.url, sendInput("mine"), { token: otherToken });
    await eventually(async () => fake.requests.length >= 3, 10_000);
    release();
    for (const turn of [...(await Promise.all(running)), await others]) {
      expect(turn.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
    }
    // Once they ended, the user may send again.
    const again = await subscribeWithFetch(gateway.url, sendInput("fourth"), { token });
    expect(again.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
  });
});
