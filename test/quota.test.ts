import { describe, expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { dailyMessageLimit, QUOTA_WINDOW_HOURS } from "../src/quota.ts";
import { useTestGateway } from "./support/gateway.ts";
import { sendInput, subscribeWithFetch } from "./support/sse.ts";
import {
  expectError,
  expectOk,
  HOUR,
  insertChat,
  insertMessage,
  insertUser,
  newId,
  SAVE_MESSAGES,
  textMessage,
} from "./support/fixtures.ts";

// Small quotas so they are quick to reach.
const GUEST_QUOTA = 3;
const REGULAR_QUOTA = 5;

const gateway = useTestGateway({
  QUOTA_GUEST_PER_DAY: String(GUEST_QUOTA),
  QUOTA_REGULAR_PER_DAY: String(REGULAR_QUOTA),
});

const prisma = () => gateway.database.db.prisma;

async function signedIn(type: "regular" | "guest" = "regular") {
  const user = await insertUser(prisma(), { type });
  const token = await gateway.tokenFor({ id: user.id, type });
  const chat = await insertChat(prisma(), { userId: user.id });
  return { id: user.id, token, chat };
}

async function left(token: string): Promise<number> {
  return expectOk(await gateway.gql(`{ me { messagesLeftToday } }`, {}, token)).me.messagesLeftToday;
}

const userMessageCount = (userId: string) => prisma().message.count({ where: { userId, role: "user" } });

/** `n` user messages already sent in the last hours (inserted directly). */
async function alreadySent(user: { id: string; chat: { id: string } }, n: number, agoMs = HOUR) {
  for (let i = 0; i < n; i++) {
    await insertMessage(prisma(), {
      chatId: user.chat.id,
      userId: user.id,
      createdAt: new Date(Date.now() - agoMs - i),
    });
  }
}

describe("limits", () => {
  test("default to 20 for guests and 50 for regular users", () => {
    const env = parseEnv({});
    expect(dailyMessageLimit(env, "guest")).toBe(20);
    expect(dailyMessageLimit(env, "regular")).toBe(50);
  });

  test("are configured by QUOTA_GUEST_PER_DAY and QUOTA_REGULAR_PER_DAY", async () => {
    const env = parseEnv({ QUOTA_GUEST_PER_DAY: "7", QUOTA_REGULAR_PER_DAY: "9" });
    expect(dailyMessageLimit(env, "guest")).toBe(7);
    expect(dailyMessageLimit(env, "regular")).toBe(9);
    expect(await left((await signedIn("regular")).token)).toBe(REGULAR_QUOTA);
    expect(await left((await signedIn("guest")).token)).toBe(GUEST_QUOTA);
  });
});

describe("saveMessages against the quota", () => {
  test("user messages up to the quota are saved; one more is rate_limit:chat and not stored", async () => {
    const me = await signedIn("guest");
    for (let i = 0; i < GUEST_QUOTA; i++) {
      expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [textMessage(`m${i}`)] }, me.token));
      expect(await left(me.token)).toBe(GUEST_QUOTA - i - 1);
    }
    const over = textMessage("one too many");
    const result = await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [over] }, me.token);
    expectError(result, "rate_limit:chat");
    expect(result.data?.saveMessages ?? null).toBeNull();
    expect(await prisma().message.findUnique({ where: { id: over.id } })).toBeNull();
    expect(await userMessageCount(me.id)).toBe(GUEST_QUOTA);
    expect(await left(me.token)).toBe(0);
  });

  test("a batch that would cross the quota is refused whole; one that fits exactly is saved", async () => {
    const me = await signedIn();
    await alreadySent(me, 3);
    const tooMany = [textMessage("a"), textMessage("b", "ASSISTANT"), textMessage("c"), textMessage("d")];
    expectError(
      await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: tooMany }, me.token),
      "rate_limit:chat",
    );
    expect(await prisma().message.count()).toBe(3);
    const fits = [textMessage("a"), textMessage("b", "ASSISTANT"), textMessage("c")];
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: fits }, me.token));
    expect(await userMessageCount(me.id)).toBe(REGULAR_QUOTA);
    expect(await left(me.token)).toBe(0);
  });

  test("assistant messages do not count, and can still be saved when the quota is used up", async () => {
    const me = await signedIn();
    const assistants = Array.from({ length: 10 }, (_, i) => textMessage(`answer ${i}`, "ASSISTANT"));
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: assistants }, me.token));
    expect(await left(me.token)).toBe(REGULAR_QUOTA);
    await alreadySent(me, REGULAR_QUOTA);
    expect(await left(me.token)).toBe(0);
    expectOk(
      await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [textMessage("more", "ASSISTANT")] }, me.token),
    );
  });

  test("messages older than 24 hours do not count", async () => {
    const me = await signedIn();
    await alreadySent(me, REGULAR_QUOTA, 25 * HOUR);
    expect(await left(me.token)).toBe(REGULAR_QUOTA);
    await alreadySent(me, 2, 23 * HOUR);
    expect(await left(me.token)).toBe(REGULAR_QUOTA - 2);
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [textMessage("now")] }, me.token));
    expect(await left(me.token)).toBe(REGULAR_QUOTA - 3);
  });

  test("messagesLeftToday never goes below zero", async () => {
    const me = await signedIn();
    await alreadySent(me, REGULAR_QUOTA + 2);
    expect(await left(me.token)).toBe(0);
  });

  test("each user has their own quota", async () => {
    const a = await signedIn();
    const b = await signedIn();
    await alreadySent(a, REGULAR_QUOTA);
    expectError(
      await gateway.gql(SAVE_MESSAGES, { chatId: a.chat.id, messages: [textMessage("x")] }, a.token),
      "rate_limit:chat",
    );
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: b.chat.id, messages: [textMessage("x")] }, b.token));
    expect(await left(b.token)).toBe(REGULAR_QUOTA - 1);
  });

  test("ownership is judged before the quota: a user out of messages writing to another's chat is forbidden:chat", async () => {
    const owner = await signedIn();
    const spent = await signedIn();
    await alreadySent(spent, REGULAR_QUOTA);
    const save = { chatId: owner.chat.id, messages: [textMessage("x")] };
    expectError(await gateway.gql(SAVE_MESSAGES, save, spent.token), "forbidden:chat");
    expect(await prisma().message.count({ where: { chatId: owner.chat.id } })).toBe(0);
  });
});

describe("THE RACE: concurrent saves never exceed the quota", () => {
  async function race(options: { sameChat: boolean }) {
    const me = await signedIn();
    await alreadySent(me, 3); // 2 left of 5
    const chats = options.sameChat
      ? Array.from({ length: 10 }, () => me.chat)
      : await Promise.all(Array.from({ length: 10 }, () => insertChat(prisma(), { userId: me.id })));
    const results = await Promise.all(
      chats.map((chat, i) =>
        gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [textMessage(`parallel ${i}`)] }, me.token),
      ),
    );
    const ok = results.filter((r) => !r.errors && r.data?.saveMessages?.length === 1);
    const limited = results.filter((r) => r.errors?.some((e) => e.extensions?.code === "rate_limit:chat"));
    expect(
      { ok: ok.length, limited: limited.length },
      JSON.stringify(results.filter((r) => r.errors).map((r) => r.errors)),
    ).toEqual({ ok: 2, limited: 8 });
    expect(await userMessageCount(me.id)).toBe(REGULAR_QUOTA);
    expect(await left(me.token)).toBe(0);
  }

  test("10 parallel saves into distinct chats with 2 left: exactly 2 succeed", () => race({ sameChat: false }));

  test("10 parallel saves into the same chat with 2 left: exactly 2 succeed", () => race({ sameChat: true }));

  test("parallel batches of two with 3 left: at most one batch succeeds, never over the quota", async () => {
    const me = await signedIn("guest");
    const results = await Promise.all(
      Array.from({ length: 6 }, () =>
        gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [textMessage("a"), textMessage("b")] }, me.token),
      ),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors?.some((e) => e.extensions?.code === "rate_limit:chat"))).toHaveLength(5);
    expect(await userMessageCount(me.id)).toBe(2);
  });
});

describe("THE RACE across both writers", () => {
  test("40 concurrent sends, half sendMessage and half saveMessages, with 3 left: exactly 3 are stored", async () => {
    const me = await signedIn("guest");
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => {
        if (i % 2 === 0) {
          const { events, results } = await subscribeWithFetch(gateway.url, sendInput(`turn ${i}`), {
            token: me.token,
          });
          return events.at(-1)?.__typename === "StreamFinished" ? "ok" : results[0]?.errors?.[0]?.extensions?.code;
        }
        const result = await gateway.gql(
          SAVE_MESSAGES,
          { chatId: me.chat.id, messages: [textMessage(`save ${i}`)] },
          me.token,
        );
        return result.errors ? result.errors[0].extensions?.code : "ok";
      }),
    );
    expect(outcomes.filter((o) => o === "ok")).toHaveLength(GUEST_QUOTA);
    expect(outcomes.filter((o) => o === "rate_limit:chat")).toHaveLength(40 - GUEST_QUOTA);
    expect(await userMessageCount(me.id)).toBe(GUEST_QUOTA);
    expect(await left(me.token)).toBe(0);
  });
});

describe("deleting does not give messages back", () => {
  /** Sends one turn; the stream's last event, or the refusal's error code. */
  async function send(token: string, chatId: string, text: string) {
    const { events, results } = await subscribeWithFetch(gateway.url, sendInput(text, { chatId }), { token });
    return events.at(-1)?.__typename ?? results[0]?.errors?.[0]?.extensions?.code;
  }

  const DELETE_CHAT = `mutation ($id: ID!) { deleteChat(id: $id) }`;
  const DELETE_TRAILING = `mutation ($id: ID!) { deleteTrailingMessages(messageId: $id) }`;

  test("a guest who spent the quota in new chats and deleted them all is still refused", async () => {
    const me = await signedIn("guest");
    const chatIds = Array.from({ length: GUEST_QUOTA }, () => newId());
    for (const chatId of chatIds) expect(await send(me.token, chatId, "hello")).toBe("StreamFinished");
    expect(await send(me.token, newId(), "one more")).toBe("rate_limit:chat");

    for (const id of [...chatIds, me.chat.id]) expectOk(await gateway.gql(DELETE_CHAT, { id }, me.token));
    expect(await prisma().message.count({ where: { userId: me.id } })).toBe(0);

    expect(await left(me.token)).toBe(0);
    expect(await send(me.token, newId(), "after deleting")).toBe("rate_limit:chat");
    const save = { chatId: (await insertChat(prisma(), { userId: me.id })).id, messages: [textMessage("x")] };
    expectError(await gateway.gql(SAVE_MESSAGES, save, me.token), "rate_limit:chat");
    expect(await prisma().message.count({ where: { userId: me.id } })).toBe(0);
  });

  test("deleteTrailingMessages of every message sent gives none of them back", async () => {
    const me = await signedIn("guest");
    const sent = Array.from({ length: GUEST_QUOTA }, (_, i) => textMessage(`m${i}`));
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: sent }, me.token));
    expect(await left(me.token)).toBe(0);

    expect(expectOk(await gateway.gql(DELETE_TRAILING, { id: sent[0].id }, me.token)).deleteTrailingMessages).toBe(
      GUEST_QUOTA,
    );
    expect(await userMessageCount(me.id)).toBe(0);

    expect(await left(me.token)).toBe(0);
    expectError(
      await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [textMessage("again")] }, me.token),
      "rate_limit:chat",
    );
    expect(await send(me.token, me.chat.id, "again")).toBe("rate_limit:chat");
    expect(await userMessageCount(me.id)).toBe(0);
  });

  test("editing within the quota: a resent message counts again", async () => {
    const me = await signedIn();
    const first = textMessage("first");
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [first] }, me.token));
    expectOk(await gateway.gql(DELETE_TRAILING, { id: first.id }, me.token));
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [first] }, me.token));
    expect(await left(me.token)).toBe(REGULAR_QUOTA - 2);
  });

  test("uses are kept for the whole window, and older ones are pruned as new ones arrive", async () => {
    const me = await signedIn();
    const windowMs = QUOTA_WINDOW_HOURS * HOUR;
    await alreadySent(me, 1, windowMs - 60_000);
    await prisma().message.deleteMany({ where: { userId: me.id } });
    // Uses recorded three windows ago, long expired.
    const expired = new Date(Date.now() - 3 * windowMs);
    await prisma().quotaUse.createMany({
      data: [0, 1, 2].map((i) => ({ userId: me.id, createdAt: new Date(expired.getTime() + i) })),
    });
    expect(await prisma().quotaUse.count({ where: { userId: me.id } })).toBe(4);

    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [textMessage("now")] }, me.token));
    expect(await left(me.token)).toBe(REGULAR_QUOTA - 2);
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: me.chat.id, messages: [textMessage("later")] }, me.token));
    expect(await left(me.token)).toBe(REGULAR_QUOTA - 3);
    // Each use prunes at most two expired ones: after two uses, all three are gone.
    expect(await prisma().quotaUse.count({ where: { userId: me.id } })).toBe(3);
  });
});
