// A streamer whose chunks break the stream protocol's order: a delta for a
// text part it never started, or for a part its reset-step took back. The
// ai package's fold (readUIMessageStream, as in useChat) stops at such a
// chunk, so the stored answer stops there too: the turn ends StreamFailed
// (the answer could not be read), its answer so far stored FAILED and equal
// to the terminal event's, never COMPLETE without what the client was shown.
// Runs on PGlite and PostgreSQL.
import { expect, it } from "vitest";
import { expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, turnHead, turnTail, type FakeHandler } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import { CHAT_WITH_MESSAGES, sendInput, subscribeWithFetch, TERMINAL_TYPES } from "./support/sse.ts";

failOnUnhandledRejections();

const UNREADABLE = "The model's service sent an answer that could not be read. Try again.";
const { fake, gateway } = useStreamerGateway();

async function turn(handler: FakeHandler) {
  fake.handle(handler);
  const token = await gateway.tokenFor(newUser());
  const variables = sendInput("Hello?");
  const { events } = await subscribeWithFetch(gateway.url, variables, { token, signal: AbortSignal.timeout(10_000) });
  expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
  const { chat } = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: variables.input.chatId }, token));
  return { events, terminal: events.at(-1)!, stored: chat.messages.edges[1]?.node };
}

it("a delta for a text part never started ends the turn StreamFailed, with the answer up to it stored FAILED", async () => {
  const { events, terminal, stored } = await turn(
    respond([
      ...turnHead(),
      { type: "text-delta", id: "t1", delta: "Kept. " },
      { type: "text-delta", id: "x", delta: "Never started." },
      ...turnTail(),
    ]),
  );
  // The client was shown both deltas as they came; the end tells it what was kept.
  expect(events.filter((e) => e.__typename === "TextDelta").map((e) => e.delta)).toEqual(["Kept. ", "Never started."]);
  expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", reason: UNREADABLE });
  expect(stored).toMatchObject({ role: "ASSISTANT", status: "FAILED" });
  expect(stored.parts).toContainEqual({ __typename: "TextPart", text: "Kept. " });
  expect(terminal.partialMessage).toEqual(stored);
});

it("a delta for a part its reset-step took back ends the turn StreamFailed", async () => {
  const { terminal, stored } = await turn(
    respond([
      { type: "start" },
      { type: "start-step" },
      { type: "text-start", id: "t0" },
      { type: "text-delta", id: "t0", delta: "Taken back." },
      { type: "reset-step" },
      { type: "text-delta", id: "t0", delta: " Too late." },
      ...turnTail(),
    ]),
  );
  expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", reason: UNREADABLE });
  expect(stored?.status ?? "FAILED").toBe("FAILED");
});

it("the same chunks in order finish the turn", async () => {
  const { terminal, stored } = await turn(
    respond([...turnHead(), { type: "text-delta", id: "t1", delta: "All in order." }, ...turnTail()]),
  );
  expect(terminal.__typename).toBe("StreamFinished");
  expect(stored).toMatchObject({
    status: "COMPLETE",
    parts: expect.arrayContaining([{ __typename: "TextPart", text: "All in order." }]),
  });
});
