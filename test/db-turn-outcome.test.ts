// The turn's final store (storeTurnOutcome): an answer deleted while its turn ran
// stays deleted, and its usage does not become the chat's lastContext (the
// chat's latest turn is then an earlier one, or none).
import { afterAll, beforeAll, expect, test } from "vitest";
import { storeTurnOutcome } from "../src/db/turn-queries.ts";
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
  const outcome = (messageId: string) =>
    storeTurnOutcome(database.db.sql, {
      chatId: chat.id,
      streamId: newId(),
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
  const turn = async (startedAt: Date) => {
    const answer = await insertMessage(prisma, { chatId: chat.id, userId: user.id, role: "assistant" });
    const stream = await prisma.stream.create({
      data: { id: newId(), chatId: chat.id, createdAt: startedAt, assistantMessageId: answer.id, status: "active" },
    });
    return (inputTokens: number) =>
      storeTurnOutcome(database.db.sql, {
        chatId: chat.id,
        streamId: stream.id,
        streamStatus: "finished",
        messageId: answer.id,
        message: { parts: [{ type: "text", text: "done" }], status: "complete" },
        context: { value: { inputTokens, outputTokens: 1, model: "chat-model" } },
      });
  };
  const earlier = await turn(new Date(Date.now() - 1_000));
  const later = await turn(new Date());
  await later(80);
  // The earlier turn ends after the later one: its answer is stored, its usage is not the chat's.
  expect(await earlier(144)).toMatchObject({ status: "complete" });
  expect((await prisma.chat.findUniqueOrThrow({ where: { id: chat.id } })).lastContext).toMatchObject({
    inputTokens: 80,
  });
});
