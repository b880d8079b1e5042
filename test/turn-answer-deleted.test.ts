// A turn whose answer is deleted under it: deleteChat or deleteTrailingMessages
// racing a turn that had just begun (the stop they send missed it). The turn
// ends with StreamAborted at its next checkpoint, and its answer does not come
// back into the chat (an answer with no question before it). Runs on PGlite and
// PostgreSQL.
import { expect, it } from "vitest";
import { expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { heldTextTurn } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import {
  CHAT_WITH_MESSAGES,
  eventually,
  RESUME_STREAM,
  sendInput,
  subscribeWithFetch,
  type StreamEvent,
} from "./support/sse.ts";

failOnUnhandledRejections();

const { fake, gateway } = useStreamerGateway({ TURN_CHECKPOINT_MS: "200" });

/** A turn held after its first delta until the gateway hangs up; its chat, token and events. */
async function runningTurn() {
  fake.handle(heldTextTurn("Half an answer. ", "The rest.", () => new Promise(() => {})));
  const token = await gateway.tokenFor(newUser());
  const variables = sendInput("Tell me.");
  let reached!: () => void;
  const delta = new Promise<void>((resolve) => (reached = resolve));
  const sender = subscribeWithFetch(gateway.url, variables, {
    token,
    signal: AbortSignal.timeout(15_000),
    onEvent: (event: StreamEvent) => void (event.__typename === "TextDelta" && reached()),
  });
  await delta;
  return { token, chatId: variables.input.chatId, sender };
}

it("an edit that deleted the running turn's messages without stopping it: the turn ends, its answer stays gone", async () => {
  const { token, chatId, sender } = await runningTurn();
  // What deleteTrailingMessages does when its stop missed a turn that began just before its delete.
  await gateway.database.db.prisma.message.deleteMany({ where: { chatId } });

  const { events } = await sender;
  expect(events.at(-1)).toMatchObject({
    __typename: "StreamAborted",
    reason: expect.stringMatching(/deleted/),
    partialMessage: null,
  });
  // The model call was stopped too.
  await eventually(async () => fake.requests.at(-1)!.closedEarly, 5_000);
  const { chat } = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: chatId }, token));
  expect(chat.messages.edges).toEqual([]);
  // The turn is forgotten: a later resumeStream does not replay what was deleted.
  await eventually(async () => (await gateway.database.db.prisma.stream.count({ where: { chatId } })) === 0);
  const resumed = await subscribeWithFetch(gateway.url, { chatId, afterSeq: null }, { token, query: RESUME_STREAM });
  expect(resumed.completed).toBe(true);
  expect(resumed.events).toEqual([]);
});

it("a chat deleted under its running turn: the turn ends StreamAborted, nothing is written back", async () => {
  const { token, chatId, sender } = await runningTurn();
  // What deleteChat does when its stop missed a turn still being prepared.
  await gateway.database.db.prisma.chat.delete({ where: { id: chatId } });

  const { events } = await sender;
  expect(events.at(-1)).toMatchObject({ __typename: "StreamAborted", partialMessage: null });
  expect((await gateway.gql(CHAT_WITH_MESSAGES, { id: chatId }, token)).data?.chat).toBeNull();
  expect(await gateway.database.db.prisma.message.count({ where: { chatId } })).toBe(0);
});
