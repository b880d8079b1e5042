import { describe, expect, test, vi } from "vitest";
import { encodeCursor, type Cursor } from "../src/db/cursor.ts";
import {
  deleteMessagesByChatIdAfterTimestamp,
  getMessageById,
  getMessagePagesByChatIds,
  saveMessages,
  type NewMessage,
} from "../src/db/messages.ts";
import { getMessageCountByUserId } from "../src/db/quota-ledger.ts";
import { voteMessage } from "../src/db/votes.ts";
import { ChatSDKError } from "../src/errors.ts";
import { HOUR, insertChat, insertMessage, insertUser, newId } from "./support/fixtures.ts";
import { useTestDatabase } from "./support/file-hooks.ts";

const database = useTestDatabase();

const prisma = () => database.db.prisma;

async function userWithChat() {
  const user = await insertUser(prisma());
  const chat = await insertChat(prisma(), { userId: user.id });
  return { user, chat };
}

function newMessage(chatId: string, userId: string, text: string, extra: Partial<NewMessage> = {}): NewMessage {
  return { id: newId(), chatId, userId, role: "user", parts: [{ type: "text", text }], ...extra };
}

/** The chat's messages as the API reads them: one page of `limit` after `after`. */
async function messagesOf(args: { chatId: string; limit?: number; after?: Cursor | null }) {
  const pages = await getMessagePagesByChatIds(prisma(), {
    chatIds: [args.chatId],
    limit: args.limit ?? 1000,
    after: args.after,
  });
  return pages.get(args.chatId) ?? [];
}

const votesOf = (chatId: string) => prisma().vote.findMany({ where: { chatId } });

const textOf = (m: { parts: unknown }) => (m.parts as { text: string }[])[0].text;

describe("getMessagePagesByChatIds", () => {
  test("returns the chat's messages oldest first, whatever the insertion order", async () => {
    const { user, chat } = await userWithChat();
    const other = await insertChat(prisma(), { userId: user.id });
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    for (const [text, offset] of [
      ["third", 3000],
      ["first", 1000],
      ["second", 2000],
    ] as const) {
      await insertMessage(prisma(), { chatId: chat.id, userId: user.id, text, createdAt: new Date(t0 + offset) });
    }
    await insertMessage(prisma(), { chatId: other.id, userId: user.id, text: "elsewhere" });

    const messages = await messagesOf({ chatId: chat.id });
    expect(messages.map(textOf)).toEqual(["first", "second", "third"]);
  });

  test("orders messages with equal timestamps stably (by id) and pages through them without overlap", async () => {
    const { user, chat } = await userWithChat();
    const at = new Date("2026-01-01T00:00:00.000Z");
    const ids = Array.from({ length: 7 }, () => newId());
    for (const id of ids) await insertMessage(prisma(), { id, chatId: chat.id, userId: user.id, createdAt: at });
    await insertMessage(prisma(), {
      chatId: chat.id,
      userId: user.id,
      text: "later",
      createdAt: new Date(at.getTime() + 1),
    });

    const all = await messagesOf({ chatId: chat.id });
    expect(all.slice(0, 7).map((m) => m.id)).toEqual([...ids].sort());
    expect(textOf(all[7])).toBe("later");
    expect((await messagesOf({ chatId: chat.id })).map((m) => m.id)).toEqual(all.map((m) => m.id));

    const seen: string[] = [];
    let after = null;
    for (let page = 0; page < 10; page++) {
      const rows = await messagesOf({ chatId: chat.id, limit: 3, after });
      if (rows.length === 0) break;
      seen.push(...rows.map((r) => r.id));
      const last = rows[rows.length - 1];
      // Round-trip through the opaque cursor, as the API does.
      after = { createdAt: last.createdAt, id: last.id };
      expect(encodeCursor(after)).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(seen).toEqual(all.map((m) => m.id));
  });

  test("limit without a cursor returns the oldest page", async () => {
    const { user, chat } = await userWithChat();
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 5; i++) {
      await insertMessage(prisma(), { chatId: chat.id, userId: user.id, text: `m${i}`, createdAt: new Date(t0 + i) });
    }
    const page = await messagesOf({ chatId: chat.id, limit: 2 });
    expect(page.map(textOf)).toEqual(["m0", "m1"]);
  });
});

describe("saveMessages", () => {
  test("keeps the order of a batch when read back, even when ids sort the other way", async () => {
    const { user, chat } = await userWithChat();
    // Ids in descending order: a tie on createdAt would put them backwards.
    const ids = Array.from({ length: 10 }, () => newId())
      .sort()
      .reverse();
    const batch = ids.map((id, i) => newMessage(chat.id, user.id, `m${i}`, { id }));
    const saved = await saveMessages(prisma(), batch);
    expect(saved.map((m) => m.id)).toEqual(ids);
    const read = await messagesOf({ chatId: chat.id });
    expect(read.map(textOf)).toEqual(batch.map((_, i) => `m${i}`));
  });

  test("stores role, parts, status (complete by default) and attachments", async () => {
    const { user, chat } = await userWithChat();
    const parts = [{ type: "text", text: "hi" }, { type: "step-start" }];
    const [saved] = await saveMessages(prisma(), [
      { id: newId(), chatId: chat.id, userId: user.id, role: "assistant", parts },
    ]);
    const read = await getMessageById(prisma(), saved.id);
    expect(read).toMatchObject({ chatId: chat.id, userId: user.id, role: "assistant", parts, status: "complete" });
    expect(read!.attachments).toEqual([]);
  });

  test("a message saved right after a batch sorts after every message of that batch", async () => {
    const { user, chat } = await userWithChat();
    // Two saves a few milliseconds apart, as when a client saves a turn and then the next message.
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(new Date("2026-03-01T12:00:00.000Z"));
      const batch = Array.from({ length: 10 }, (_, i) =>
        newMessage(chat.id, user.id, `batch ${i}`, { role: "assistant" }),
      );
      await saveMessages(prisma(), batch);
      vi.setSystemTime(new Date("2026-03-01T12:00:00.003Z"));
      const [later] = await saveMessages(prisma(), [newMessage(chat.id, user.id, "later")]);
      const read = await messagesOf({ chatId: chat.id });
      expect(read.map((m) => m.id)).toEqual([...batch.map((m) => m.id), later.id]);
    } finally {
      vi.useRealTimers();
    }
  });

  test("keeps an explicit createdAt", async () => {
    const { user, chat } = await userWithChat();
    const at = new Date("2025-05-05T05:05:05.005Z");
    const [saved] = await saveMessages(prisma(), [newMessage(chat.id, user.id, "x", { createdAt: at })]);
    expect(saved.createdAt.toISOString()).toBe(at.toISOString());
  });

  test("a chat that does not exist (deleted meanwhile) is not_found:chat, without SQL details, and stores nothing", async () => {
    const { user } = await userWithChat();
    const error = await saveMessages(prisma(), [newMessage(newId(), user.id, "orphan")]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChatSDKError);
    expect((error as ChatSDKError).code).toBe("not_found:chat");
    expect((error as ChatSDKError).extensions.code).toBe("not_found:chat");
    expect((error as Error).message).not.toMatch(/foreign|constraint|violat|Message_|chatId|INSERT|prisma|P20/i);
    expect(await prisma().message.count()).toBe(0);
  });

  test("a failing row leaves none of its batch behind", async () => {
    const { user, chat } = await userWithChat();
    const existing = await insertMessage(prisma(), { chatId: chat.id, userId: user.id });
    const batch = [newMessage(chat.id, user.id, "new"), newMessage(chat.id, user.id, "dup", { id: existing.id })];
    await expect(saveMessages(prisma(), batch)).rejects.toMatchObject({ code: "bad_request:database" });
    expect(await prisma().message.count()).toBe(1);
  });
});

describe("deleteMessagesByChatIdAfterTimestamp", () => {
  test("deletes the chat's messages at or after the timestamp and returns how many", async () => {
    const { user, chat } = await userWithChat();
    const other = await insertChat(prisma(), { userId: user.id });
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    for (let i = 0; i < 5; i++) {
      await insertMessage(prisma(), {
        chatId: chat.id,
        userId: user.id,
        text: `m${i}`,
        createdAt: new Date(t0 + i * 1000),
      });
      await insertMessage(prisma(), {
        chatId: other.id,
        userId: user.id,
        text: `o${i}`,
        createdAt: new Date(t0 + i * 1000),
      });
    }
    const removed = await deleteMessagesByChatIdAfterTimestamp(prisma(), chat.id, new Date(t0 + 2000));
    expect(removed).toBe(3);
    expect((await messagesOf({ chatId: chat.id })).map(textOf)).toEqual(["m0", "m1"]);
    expect(await messagesOf({ chatId: other.id })).toHaveLength(5);
    expect(await deleteMessagesByChatIdAfterTimestamp(prisma(), chat.id, new Date(t0 + 60_000))).toBe(0);
  });
});

describe("getMessageCountByUserId", () => {
  const hoursAgo = (hours: number) => new Date(Date.now() - hours * HOUR);

  test("counts only the user's own user-role messages of the last 24 hours", async () => {
    const { user, chat } = await userWithChat();
    const other = await insertUser(prisma());
    const otherChat = await insertChat(prisma(), { userId: other.id });
    const now = Date.now();
    await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "user" });
    await insertMessage(prisma(), {
      chatId: chat.id,
      userId: user.id,
      role: "user",
      createdAt: new Date(now - 23 * HOUR),
    });
    await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "assistant" });
    await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "system" });
    await insertMessage(prisma(), {
      chatId: chat.id,
      userId: user.id,
      role: "user",
      createdAt: new Date(now - 25 * HOUR),
    });
    await insertMessage(prisma(), { chatId: otherChat.id, userId: other.id, role: "user" });

    expect(await getMessageCountByUserId(prisma(), user.id, hoursAgo(24))).toBe(2);
    expect(await getMessageCountByUserId(prisma(), user.id, hoursAgo(22))).toBe(1);
    expect(await getMessageCountByUserId(prisma(), user.id, hoursAgo(26))).toBe(3);
    expect(await getMessageCountByUserId(prisma(), other.id, hoursAgo(24))).toBe(1);
    expect(await getMessageCountByUserId(prisma(), "nobody", hoursAgo(24))).toBe(0);
  });

  test("counts no further than the bound it is given", async () => {
    const { user, chat } = await userWithChat();
    for (let i = 0; i < 3; i++) await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "user" });

    expect(await getMessageCountByUserId(prisma(), user.id, hoursAgo(24), 2)).toBe(2);
    expect(await getMessageCountByUserId(prisma(), user.id, hoursAgo(24), 5)).toBe(3);
  });
});

describe("voteMessage", () => {
  test("records a vote and replaces it on a later vote", async () => {
    const { user, chat } = await userWithChat();
    const message = await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "assistant" });
    await voteMessage(prisma(), { chatId: chat.id, messageId: message.id, isUpvoted: true });
    expect(await votesOf(chat.id)).toEqual([{ chatId: chat.id, messageId: message.id, isUpvoted: true }]);
    await voteMessage(prisma(), { chatId: chat.id, messageId: message.id, isUpvoted: false });
    expect(await votesOf(chat.id)).toEqual([{ chatId: chat.id, messageId: message.id, isUpvoted: false }]);
  });

  test("a vote on a message that does not exist (deleted meanwhile) is not_found:chat", async () => {
    const { chat } = await userWithChat();
    await expect(voteMessage(prisma(), { chatId: chat.id, messageId: newId(), isUpvoted: true })).rejects.toMatchObject(
      {
        code: "not_found:chat",
      },
    );
    expect(await votesOf(chat.id)).toEqual([]);
  });
});
