// Editing a message while the chat's turn is still answering
// (deleteTrailingMessages of its user message): the turn stops first, its
// stream ends with StreamAborted, and nothing of it comes back after the edit.
// Runs on PGlite and PostgreSQL.
import { expect, it } from "vitest";
import { EDITED } from "../src/turn/turn-endings.ts";
import { expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, slowTextTurn } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import {
  CHAT_WITH_MESSAGES,
  eventually,
  sendInput,
  subscribeWithFetch,
  TERMINAL_TYPES,
  textDeltaCount,
} from "./support/sse.ts";

failOnUnhandledRejections();

// About 3 s of answer, a delta every 30 ms: edited long before the end.
const slowAnswer = respond(slowTextTurn("An answer that is edited away. ".repeat(15), 30));
const { fake, gateway } = useStreamerGateway({}, slowAnswer);

const DELETE_TRAILING = /* GraphQL */ `
  mutation Edit($messageId: ID!) {
    deleteTrailingMessages(messageId: $messageId)
  }
`;

it("an edit mid-turn stops the turn, and its answer does not come back after the edit", async () => {
  const token = await gateway.tokenFor(newUser());
  const first = sendInput("The question before the edit.");
  const { chatId } = first.input;
  let edited: Promise<unknown> | null = null;
  const result = await subscribeWithFetch(gateway.url, first, {
    token,
    onEvent: (_event, all) => {
      if (edited === null && textDeltaCount(all) === 3) {
        edited = gateway.gql(DELETE_TRAILING, { messageId: first.input.message.id }, token);
      }
    },
  });
  // The user message and the running turn's answer.
  expect(expectOk((await edited) as any).deleteTrailingMessages).toBe(2);
  const { events } = result;
  expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
  // Its answer went with the edit: the event does not describe a message the chat no longer has.
  expect(events.at(-1)).toMatchObject({ __typename: "StreamAborted", reason: EDITED, partialMessage: null });
  const request = fake.requests.at(-1)!;
  await eventually(async () => request.closedAt !== null, 2000);
  expect(request.closedEarly).toBe(true);

  // The edited message, sent again with the same id, is the chat's only question.
  const again = sendInput("Edited.", { chatId, messageId: first.input.message.id });
  const second = await subscribeWithFetch(gateway.url, again, { token });
  expect(second.events.at(-1)!.__typename).toBe("StreamFinished");
  const chat = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: chatId }, token)).chat;
  expect(chat.messages.edges.map((edge: any) => [edge.node.role, edge.node.status])).toEqual([
    ["USER", "COMPLETE"],
    ["ASSISTANT", "COMPLETE"],
  ]);
  expect(await gateway.database.db.prisma.message.count({ where: { chatId } })).toBe(2);
});

it("an edit stops only the turns answering at or after the edited message: an earlier turn still running finishes", async () => {
  const token = await gateway.tokenFor(newUser());
  const first = sendInput("The first question.");
  const { chatId } = first.input;
  // Two turns of one chat at once (two tabs): the first answers slowly, the second is edited away.
  let second: ReturnType<typeof subscribeWithFetch> | null = null;
  const secondInput = sendInput("The second question, edited.", { chatId });
  let edited: Promise<unknown> | null = null;
  const firstResult = await subscribeWithFetch(gateway.url, first, {
    token,
    onEvent: (_event, all) => {
      if (second === null && textDeltaCount(all) === 2) {
        second = subscribeWithFetch(gateway.url, secondInput, {
          token,
          onEvent: (_e, mine) => {
            if (edited === null && textDeltaCount(mine) === 2) {
              edited = gateway.gql(DELETE_TRAILING, { messageId: secondInput.input.message.id }, token);
            }
          },
        });
      }
    },
  });
  expect(firstResult.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
  expect((await second!).events.at(-1)).toMatchObject({ __typename: "StreamAborted", reason: EDITED });
  expect(expectOk((await edited) as any).deleteTrailingMessages).toBe(2);
  const chat = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: chatId }, token)).chat;
  expect(chat.messages.edges.map((edge: any) => [edge.node.role, edge.node.status])).toEqual([
    ["USER", "COMPLETE"],
    ["ASSISTANT", "COMPLETE"],
  ]);
});
