// The turn's final store (storeTurnOutcome): an answer deleted while its turn ran
// stays deleted, and its usage does not become the chat's lastContext (the
// chat's latest turn is then an earlier one, or none).
import { afterAll, beforeAll, expect, test } from "vitest";
import { endedTurns, storeTurnOutcome } from "../src/db/turn-queries.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { dropDatabase, insertChat, insertMessage, insertUser, newId } from "./support/fixtures.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => dropDatabase(database));

test("an answer deleted while its turn ran: nothing stored, lastContext left as it was", async () => {
  const prisma = database.db.prisma;
  const user = await insertUser(prisma);
  const chat = await insertChat(prisma, { userId: user.id });
  const earlier = { inputTokens: 1, outputTokens: 2, model: "chat-model" };
  await prisma.chat.update({ where: { id: chat.id }, data: { lastContext: earlier } });
  // The turn's Stream row, as begin_turn writes it (its answer's row is made below, or never).
  const streamId = newId();
  await prisma.stream.create({ data: { id: streamId, chatId: chat.id, status: "active" } });
  const outcome = (messageId: string) =>
    storeTurnOutcome(database.db.sql, {
      chatId: chat.id,
      streamId,
      streamStatus: "aborted",
      messageId,
      message: { parts: [{ type: "text", text: "so far" }], status: "aborted" },
      context: { value: { inputTokens: 100, outputTokens: 44, model: "chat-model" } },
    });

  expect(await outcome(newId())).toBeNull();
  expect((await prisma.chat.findUniqueOrThrow({ where: { id: chat.id } })).lastContext).toEqual(earlier);

  // Its answer still there: stored, and its usage is the chat's.
  const answer = await insertMessage(prisma, { chatId: chat.id, userId: user.id, role: "assistant" });
  expect(await outcome(answer.id)).toMatchObject({ id: answer.id, status: "aborted" });
  expect((await prisma.chat.findUniqueOrThrow({ where: { id: chat.id } })).lastContext).toMatchObject({
    inputTokens: 100,
  });
});

test("two turns of one chat at once (two tabs): the earlier one, storing last, leaves lastContext to the later one", async () => {
  const prisma = database.db.prisma;
  const user = await insertUser(prisma);
  const chat = await insertChat(prisma, { userId: user.id });
  const turn = (startedAt: Date) => startTurn(prisma, chat.id, user.id, startedAt);
  const lastContext = async () => (await prisma.chat.findUniqueOrThrow({ where: { id: chat.id } })).lastContext;
  const earlier = await turn(new Date(Date.now() - 1_000));
  const later = await turn(new Date());
  await later.store(80);
  // The earlier turn ends after the later one: its answer is stored, its usage is not the chat's.
  expect(await earlier.store(144)).toMatchObject({ status: "complete" });
  expect(await lastContext()).toMatchObject({ inputTokens: 80 });
  // Read back as each turn's usage only by the turn it is (a resume's rebuilt StreamFinished).
  const ended = await endedTurns(database.db.sql, [earlier.streamId, later.streamId], 15);
  expect(ended.find((t) => t.id === later.streamId)?.usage).toMatchObject({ inputTokens: 80 });
  expect(ended.find((t) => t.id === earlier.streamId)?.usage).toBeNull();
});

test("two turns at once, the later one ending without usage (stopped first): the earlier one's usage is the chat's", async () => {
  const prisma = database.db.prisma;
  const user = await insertUser(prisma);
  const chat = await insertChat(prisma, { userId: user.id });
  const earlier = await startTurn(prisma, chat.id, user.id, new Date(Date.now() - 1_000));
  const later = await startTurn(prisma, chat.id, user.id, new Date());
  await later.store(null);
  await earlier.store(144);
  expect((await prisma.chat.findUniqueOrThrow({ where: { id: chat.id } })).lastContext).toMatchObject({
    inputTokens: 144,
  });
});

/** A running turn of the chat started at `startedAt` (its Stream row and STREAMING answer), and its store. */
async function startTurn(prisma: TestDatabase["db"]["prisma"], chatId: string, userId: string, startedAt: Date) {
  const answer = await insertMessage(prisma, { chatId, userId, role: "assistant" });
  const stream = await prisma.stream.create({
    data: { id: newId(), chatId, createdAt: startedAt, assistantMessageId: answer.id, status: "active" },
  });
  return {
    streamId: stream.id,
    /** Stores it finished, with `inputTokens` as its usage (none: null). */
    store: (inputTokens: number | null) =>
      storeTurnOutcome(database.db.sql, {
        chatId,
        streamId: stream.id,
        streamStatus: inputTokens === null ? "aborted" : "finished",
        messageId: answer.id,
        message: { parts: [{ type: "text", text: "done" }], status: inputTokens === null ? "aborted" : "complete" },
        context: inputTokens === null ? null : { value: { inputTokens, outputTokens: 1, model: "chat-model" } },
      }),
  };
}
