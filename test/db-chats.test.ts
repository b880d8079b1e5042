import { describe, expect, test } from "vitest";
import { deleteChatById, getChatById, getChatsByUserId, saveChat, updateChatVisibilityById } from "../src/db/chats.ts";
import { decodeCursor, encodeCursor, type Cursor } from "../src/db/cursor.ts";
import { ensureUser } from "../src/db/users.ts";
import { voteMessage } from "../src/db/votes.ts";
import { ChatSDKError } from "../src/errors.ts";
import { insertChat, insertMessage, insertUser, newId } from "./support/fixtures.ts";
import { useTestDatabase } from "./support/file-hooks.ts";

const database = useTestDatabase();

const prisma = () => database.db.prisma;
const sql = () => database.db.sql;

describe("saveChat and getChatById", () => {
  test("saves a chat and reads it back; a missing chat is null", async () => {
    const user = await insertUser(prisma());
    const id = newId();
    const saved = await saveChat(prisma(), { id, userId: user.id, title: "Hello", visibility: "public" });
    expect(saved).toMatchObject({ id, userId: user.id, title: "Hello", visibility: "public", lastContext: null });
    expect(saved.createdAt).toBeInstanceOf(Date);
    expect(await getChatById(prisma(), id)).toEqual(saved);
    expect(await getChatById(prisma(), newId())).toBeNull();
  });

  test("a duplicate id or an unknown user is bad_request:database without SQL details", async () => {
    const user = await insertUser(prisma());
    const id = newId();
    await saveChat(prisma(), { id, userId: user.id, title: "one", visibility: "private" });
    for (const attempt of [
      () => saveChat(prisma(), { id, userId: user.id, title: "two", visibility: "private" }),
      () => saveChat(prisma(), { id: newId(), userId: "no-such-user", title: "x", visibility: "private" }),
    ]) {
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ChatSDKError);
      expect(error).toMatchObject({ code: "bad_request:database", extensions: { code: "bad_request:database" } });
      expect((error as Error).message).not.toMatch(/unique|foreign|constraint|violat|Chat_|INSERT|prisma|P20/i);
    }
    expect(await prisma().chat.count()).toBe(1);
    expect((await getChatById(prisma(), id))!.title).toBe("one");
  });
});

describe("getChatsByUserId", () => {
  test("returns only the user's chats, newest first", async () => {
    const user = await insertUser(prisma());
    const other = await insertUser(prisma());
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    for (const [title, offset] of [
      ["middle", 2000],
      ["oldest", 1000],
      ["newest", 3000],
    ] as const) {
      await insertChat(prisma(), { userId: user.id, title, createdAt: new Date(t0 + offset) });
    }
    await insertChat(prisma(), { userId: other.id, title: "not mine", createdAt: new Date(t0 + 5000) });
    const chats = await getChatsByUserId(prisma(), { userId: user.id, limit: 10 });
    expect(chats.map((c) => c.title)).toEqual(["newest", "middle", "oldest"]);
  });

  test("pages across chats with the same createdAt without overlap or gaps", async () => {
    const user = await insertUser(prisma());
    const tie = new Date("2026-01-01T00:00:00.000Z");
    const expected: { id: string; createdAt: Date }[] = [];
    expected.push(await insertChat(prisma(), { userId: user.id, createdAt: new Date(tie.getTime() + 1) }));
    for (let i = 0; i < 6; i++) expected.push(await insertChat(prisma(), { userId: user.id, createdAt: tie }));
    expected.push(await insertChat(prisma(), { userId: user.id, createdAt: new Date(tie.getTime() - 1) }));
    expected.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || (a.id < b.id ? 1 : -1));

    for (const limit of [1, 2, 3, 4]) {
      const seen: string[] = [];
      let after: Cursor | null = null;
      for (let page = 0; page < 20; page++) {
        const rows = await getChatsByUserId(prisma(), { userId: user.id, limit, after });
        if (rows.length === 0) break;
        seen.push(...rows.map((r) => r.id));
        const last = rows[rows.length - 1];
        after = decodeCursor(encodeCursor(last));
      }
      expect(seen, `page size ${limit}`).toEqual(expected.map((c) => c.id));
    }
  });
});

describe("deleteChatById", () => {
  test("deletes the chat with its messages, votes and streams, and nothing else", async () => {
    const user = await insertUser(prisma());
    const chat = await insertChat(prisma(), { userId: user.id });
    const kept = await insertChat(prisma(), { userId: user.id });
    for (const c of [chat, kept]) {
      const message = await insertMessage(prisma(), { chatId: c.id, userId: user.id, role: "assistant" });
      await voteMessage(prisma(), { chatId: c.id, messageId: message.id, isUpvoted: true });
      await prisma().stream.create({ data: { id: newId(), chatId: c.id } });
    }

    expect(await deleteChatById(prisma(), chat.id)).toBe(true);
    expect(await getChatById(prisma(), chat.id)).toBeNull();
    expect(await prisma().message.count({ where: { chatId: chat.id } })).toBe(0);
    expect(await prisma().vote.count({ where: { chatId: chat.id } })).toBe(0);
    expect(await prisma().stream.count({ where: { chatId: chat.id } })).toBe(0);

    expect(await prisma().message.count({ where: { chatId: kept.id } })).toBe(1);
    expect(await prisma().vote.count({ where: { chatId: kept.id } })).toBe(1);
    expect(await prisma().stream.count({ where: { chatId: kept.id } })).toBe(1);
    expect(await prisma().user.count({ where: { id: user.id } })).toBe(1);

    expect(await deleteChatById(prisma(), chat.id)).toBe(false);
  });
});

describe("updates", () => {
  test("updateChatVisibilityById changes the visibility", async () => {
    const user = await insertUser(prisma());
    const chat = await insertChat(prisma(), { userId: user.id, visibility: "private" });
    expect((await updateChatVisibilityById(prisma(), chat.id, "public")).visibility).toBe("public");
    expect((await getChatById(prisma(), chat.id))!.visibility).toBe("public");
    expect((await updateChatVisibilityById(prisma(), chat.id, "private")).visibility).toBe("private");
    expect((await getChatById(prisma(), chat.id))!.visibility).toBe("private");
  });

  test("updating a chat that does not exist (deleted meanwhile) is not_found:chat", async () => {
    await expect(updateChatVisibilityById(prisma(), newId(), "public")).rejects.toMatchObject({
      code: "not_found:chat",
    });
  });
});

describe("ensureUser", () => {
  test("creates the user on first sight and refreshes type and email later", async () => {
    const id = `user-${newId()}`;
    const before = Date.now();
    const created = await ensureUser(sql(), { id, type: "guest", email: null });
    expect(created).toMatchObject({ id, type: "guest", email: null });
    // As Prisma reads it back: createdAt in UTC, the time it was created.
    expect(await prisma().user.findUnique({ where: { id } })).toEqual(created);
    expect(created.createdAt.getTime()).toBeGreaterThanOrEqual(before - 5);
    expect(created.createdAt.getTime()).toBeLessThanOrEqual(Date.now() + 5);
    const refreshed = await ensureUser(sql(), { id, type: "regular", email: "a@example.com" });
    expect(refreshed).toEqual({ ...created, type: "regular", email: "a@example.com" });
    expect(await prisma().user.findUnique({ where: { id } })).toEqual(refreshed);
    expect(await prisma().user.count({ where: { id } })).toBe(1);
  });
});
