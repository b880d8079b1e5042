import { describe, expect, test } from "vitest";
import { encodeCursor } from "../src/db/cursor.ts";
import { useTestGateway } from "./support/gateway.ts";
import { sendInput, subscribeWithFetch } from "./support/sse.ts";
import {
  CREATE_CHAT,
  expectError,
  expectOk,
  insertChat,
  insertMessage,
  insertUser,
  newId,
  SAVE_MESSAGES,
  textMessage,
} from "./support/fixtures.ts";

const gateway = useTestGateway();

const prisma = () => gateway.database.db.prisma;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A signed-in regular user (its row created in the database first). */
async function signedIn(type: "regular" | "guest" = "regular") {
  const user = await insertUser(prisma(), { type });
  return { id: user.id, token: await gateway.tokenFor({ id: user.id, type }) };
}

const CHATS = /* GraphQL */ `
  query Chats($first: Int, $after: String) {
    chats(first: $first, after: $after) {
      edges { cursor node { id title } }
      pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    }
  }
`;

const CHAT = /* GraphQL */ `
  query Chat($id: ID!) {
    chat(id: $id) {
      id title visibility createdAt
      lastContext { inputTokens outputTokens totalTokens reasoningTokens cachedInputTokens model }
    }
  }
`;

const MESSAGES = /* GraphQL */ `
  query Messages($id: ID!, $first: Int, $after: String) {
    chat(id: $id) {
      messages(first: $first, after: $after) {
        edges { cursor node { id role parts { ... on TextPart { text } } } }
        pageInfo { hasNextPage startCursor endCursor }
      }
    }
  }
`;

describe("me", () => {
  test("messagesLeftToday: 50 for a regular user, 20 for a guest, less the user messages sent", async () => {
    const regular = await signedIn("regular");
    const guest = await signedIn("guest");
    expect(expectOk(await gateway.gql(`{ me { id type messagesLeftToday } }`, {}, regular.token)).me).toEqual({
      id: regular.id,
      type: "REGULAR",
      messagesLeftToday: 50,
    });
    expect(expectOk(await gateway.gql(`{ me { messagesLeftToday } }`, {}, guest.token)).me.messagesLeftToday).toBe(20);

    const chat = await insertChat(prisma(), { userId: regular.id });
    expectOk(
      await gateway.gql(
        SAVE_MESSAGES,
        { chatId: chat.id, messages: [textMessage("a"), textMessage("b", "ASSISTANT"), textMessage("c")] },
        regular.token,
      ),
    );
    expect(expectOk(await gateway.gql(`{ me { messagesLeftToday } }`, {}, regular.token)).me.messagesLeftToday).toBe(
      48,
    );
  });
});

describe("createChat", () => {
  test('with an empty input: a generated UUID, title "New chat", PRIVATE, owned by the caller', async () => {
    const me = await signedIn();
    const before = Date.now();
    const chat = expectOk(await gateway.gql(CREATE_CHAT, { input: {} }, me.token)).createChat;
    expect(chat.id).toMatch(UUID);
    expect(chat).toMatchObject({ title: "New chat", visibility: "PRIVATE" });
    expect(Date.parse(chat.createdAt)).toBeGreaterThanOrEqual(before - 1000);
    expect(Date.parse(chat.createdAt)).toBeLessThanOrEqual(Date.now() + 1000);
    expect(await prisma().chat.findUnique({ where: { id: chat.id } })).toMatchObject({
      userId: me.id,
      title: "New chat",
      visibility: "private",
    });
  });

  test("keeps the given id, title and visibility", async () => {
    const me = await signedIn();
    const id = newId();
    const chat = expectOk(
      await gateway.gql(CREATE_CHAT, { input: { id, title: "Trip to Lisbon", visibility: "PUBLIC" } }, me.token),
    ).createChat;
    expect(chat).toMatchObject({ id, title: "Trip to Lisbon", visibility: "PUBLIC" });
    expect(expectOk(await gateway.gql(CHAT, { id }, me.token)).chat).toMatchObject({ id, title: "Trip to Lisbon" });
  });

  test("a duplicate id is bad_request:api, whoever owns the first chat, and changes nothing", async () => {
    const me = await signedIn();
    const other = await signedIn();
    const id = newId();
    expectOk(await gateway.gql(CREATE_CHAT, { input: { id, title: "first" } }, me.token));
    const mine = await gateway.gql(CREATE_CHAT, { input: { id, title: "second" } }, me.token);
    const theirs = await gateway.gql(CREATE_CHAT, { input: { id, title: "theirs" } }, other.token);
    expectError(mine, "bad_request:api");
    // Whoever holds the id, the same answer: it tells nothing about another user's chats.
    expect(theirs).toEqual(mine);
    expect(JSON.stringify(theirs)).not.toMatch(/exist|another|first/i);
    expect(await prisma().chat.findMany()).toEqual([expect.objectContaining({ id, title: "first", userId: me.id })]);
  });

  test("concurrent creates with the same id: one wins, the others are bad_request:api", async () => {
    const me = await signedIn();
    const id = newId();
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => gateway.gql(CREATE_CHAT, { input: { id, title: `try ${i}` } }, me.token)),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    const codes = results.filter((r) => r.errors).map((r) => r.errors![0].extensions?.code);
    expect(codes).toEqual(Array(5).fill("bad_request:api"));
    expect(await prisma().chat.count()).toBe(1);
  });

  test("a non-UUID id, a blank, an over-long or an unstorable title is bad_request:api", async () => {
    const me = await signedIn();
    const titles = ["   ", "", "x".repeat(256), "a\u0000b", "lone \udfff"];
    for (const input of [{ id: "chat-1" }, ...titles.map((title) => ({ title }))]) {
      expectError(await gateway.gql(CREATE_CHAT, { input }, me.token), "bad_request:api");
    }
    expect(await prisma().chat.count()).toBe(0);
  });
});

describe("chat(id)", () => {
  test("is null, without an error, when the chat does not exist", async () => {
    const me = await signedIn();
    const result = await gateway.gql(CHAT, { id: newId() }, me.token);
    expect(result.errors).toBeUndefined();
    expect(result.data.chat).toBeNull();
  });

  test("a non-UUID id is bad_request:api", async () => {
    const me = await signedIn();
    expectError(await gateway.gql(CHAT, { id: "nope" }, me.token), "bad_request:api");
  });

  test("lastContext is null without usage, and reports only the figures stored (never invented zeros)", async () => {
    const me = await signedIn();
    const chat = await insertChat(prisma(), { userId: me.id });
    expect(expectOk(await gateway.gql(CHAT, { id: chat.id }, me.token)).chat.lastContext).toBeNull();
    await prisma().chat.update({
      where: { id: chat.id },
      data: { lastContext: { inputTokens: 10, outputTokens: 5, model: "chat-model" } },
    });
    expect(expectOk(await gateway.gql(CHAT, { id: chat.id }, me.token)).chat.lastContext).toEqual({
      inputTokens: 10,
      outputTokens: 5,
      totalTokens: null,
      reasoningTokens: null,
      cachedInputTokens: null,
      model: "chat-model",
    });
  });

  test("messages are oldest first and page with first/after", async () => {
    const me = await signedIn();
    const chat = await insertChat(prisma(), { userId: me.id });
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    for (const i of [3, 0, 4, 1, 2]) {
      await insertMessage(prisma(), {
        chatId: chat.id,
        userId: me.id,
        text: `m${i}`,
        createdAt: new Date(t0 + i * 1000),
      });
    }
    const all = expectOk(await gateway.gql(MESSAGES, { id: chat.id }, me.token)).chat.messages;
    expect(all.edges.map((e: any) => e.node.parts[0].text)).toEqual(["m0", "m1", "m2", "m3", "m4"]);
    expect(all.pageInfo.hasNextPage).toBe(false);

    const texts: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const connection: any = expectOk(await gateway.gql(MESSAGES, { id: chat.id, first: 2, after }, me.token)).chat
        .messages;
      texts.push(...connection.edges.map((e: any) => e.node.parts[0].text));
      if (!connection.pageInfo.hasNextPage) break;
      after = connection.pageInfo.endCursor;
    }
    expect(texts).toEqual(["m0", "m1", "m2", "m3", "m4"]);
  });

  test("messages: first over the cap or an invalid cursor is bad_request:api", async () => {
    const me = await signedIn();
    const chat = await insertChat(prisma(), { userId: me.id });
    expectError(await gateway.gql(MESSAGES, { id: chat.id, first: 101 }, me.token), "bad_request:api");
    expectError(await gateway.gql(MESSAGES, { id: chat.id, after: "garbage" }, me.token), "bad_request:api");
  });
});

describe("chats", () => {
  test("lists only the caller's chats, newest first", async () => {
    const me = await signedIn();
    const other = await signedIn();
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    for (const [title, offset] of [
      ["b", 2],
      ["a", 1],
      ["c", 3],
    ] as const) {
      await insertChat(prisma(), { userId: me.id, title, createdAt: new Date(t0 + offset * 1000) });
    }
    await insertChat(prisma(), { userId: other.id, title: "theirs", createdAt: new Date(t0 + 10_000) });
    const chats = expectOk(await gateway.gql(CHATS, {}, me.token)).chats;
    expect(chats.edges.map((e: any) => e.node.title)).toEqual(["c", "b", "a"]);
    expect(chats.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: false });
  });

  test("pages with first/after: hasNextPage and endCursor, no overlap or gap, even across equal createdAt", async () => {
    const me = await signedIn();
    const tie = new Date("2026-01-01T00:00:00.000Z");
    const rows = [await insertChat(prisma(), { userId: me.id, createdAt: new Date(tie.getTime() + 5) })];
    for (let i = 0; i < 5; i++) rows.push(await insertChat(prisma(), { userId: me.id, createdAt: tie }));
    rows.push(await insertChat(prisma(), { userId: me.id, createdAt: new Date(tie.getTime() - 5) }));
    const expected = expectOk(await gateway.gql(CHATS, { first: 100 }, me.token)).chats.edges.map(
      (e: any) => e.node.id,
    );
    expect(new Set(expected)).toEqual(new Set(rows.map((r) => r.id)));
    expect(expected[0]).toBe(rows[0].id);
    expect(expected.at(-1)).toBe(rows.at(-1)!.id);

    const seen: string[] = [];
    let after: string | null = null;
    const pages: boolean[] = [];
    for (let page = 0; page < 10; page++) {
      const chats: any = expectOk(await gateway.gql(CHATS, { first: 2, after }, me.token)).chats;
      seen.push(...chats.edges.map((e: any) => e.node.id));
      pages.push(chats.pageInfo.hasNextPage);
      expect(chats.pageInfo.endCursor).toBe(chats.edges.at(-1).cursor);
      if (!chats.pageInfo.hasNextPage) break;
      after = chats.pageInfo.endCursor;
    }
    expect(seen).toEqual(expected);
    expect(pages).toEqual([true, true, true, false]);
  });

  test("an empty page has null cursors", async () => {
    const me = await signedIn();
    expect(expectOk(await gateway.gql(CHATS, {}, me.token)).chats.pageInfo).toMatchObject({
      startCursor: null,
      endCursor: null,
    });
    const chat = await insertChat(prisma(), { userId: me.id });
    expect(expectOk(await gateway.gql(CHATS, { first: 0 }, me.token)).chats.pageInfo).toMatchObject({
      startCursor: null,
      endCursor: null,
    });
    const { messages } = expectOk(await gateway.gql(MESSAGES, { id: chat.id }, me.token)).chat;
    expect(messages.edges).toEqual([]);
    expect(messages.pageInfo).toMatchObject({ startCursor: null, endCursor: null });
  });

  test("defaults to 20 per page", async () => {
    const me = await signedIn();
    for (let i = 0; i < 21; i++) await insertChat(prisma(), { userId: me.id });
    const chats = expectOk(await gateway.gql(CHATS, {}, me.token)).chats;
    expect(chats.edges).toHaveLength(20);
    expect(chats.pageInfo.hasNextPage).toBe(true);
  });

  test("first is capped at 100: 100 is fine, 101 and negative values are bad_request:api", async () => {
    const me = await signedIn();
    await insertChat(prisma(), { userId: me.id });
    expect(expectOk(await gateway.gql(CHATS, { first: 100 }, me.token)).chats.edges).toHaveLength(1);
    expectError(await gateway.gql(CHATS, { first: 101 }, me.token), "bad_request:api");
    expectError(await gateway.gql(CHATS, { first: 100_000 }, me.token), "bad_request:api");
    expectError(await gateway.gql(CHATS, { first: -1 }, me.token), "bad_request:api");
  });

  test("a cursor the gateway did not issue is bad_request:api", async () => {
    const me = await signedIn();
    await insertChat(prisma(), { userId: me.id });
    const b64 = (text: string) => Buffer.from(text).toString("base64url");
    for (const after of [
      "garbage",
      b64("2026-01-01T00:00:00.000Z"),
      b64("yesterday|abc"),
      b64("a|b|c"),
      "x".repeat(500),
    ]) {
      expectError(await gateway.gql(CHATS, { after }, me.token), "bad_request:api");
    }
    // Well-formed enough to reach the database before (a database error, counted as one):
    // an id that is not a UUID, dates PostgreSQL cannot hold.
    for (const after of [
      b64("2026-12-04T07:00:04.088Z|x' OR 1=1--"),
      b64(`0000-01-01T00:00:00.000Z|${newId()}`),
      b64(`-000001-01-01T00:00:00.000Z|${newId()}`),
      b64(`+275760-09-13T00:00:00.000Z|${newId()}`),
    ]) {
      const refused = await gateway.gql(CHATS, { after }, me.token);
      expectError(refused, "bad_request:api");
      expect(refused.errors![0].message).toBe("after: not a valid cursor.");
      const chat = await insertChat(prisma(), { userId: me.id });
      const messages = await gateway.gql(MESSAGES, { id: chat.id, after }, me.token);
      expectError(messages, "bad_request:api");
      expect(messages.errors![0].message).toBe("after: not a valid cursor.");
    }
    // A well-formed cursor is fine even when it points past everything.
    const cursor = encodeCursor({ createdAt: new Date("2000-01-01T00:00:00.000Z"), id: newId() });
    expect(expectOk(await gateway.gql(CHATS, { after: cursor }, me.token)).chats.edges).toEqual([]);
  });
});

describe("updateChatVisibility and deleteChat", () => {
  test("updateChatVisibility returns the chat with its new visibility, stored", async () => {
    const me = await signedIn();
    const chat = await insertChat(prisma(), { userId: me.id, visibility: "private" });
    const UPDATE = `mutation($id: ID!, $v: Visibility!) { updateChatVisibility(id: $id, visibility: $v) { id visibility } }`;
    expect(expectOk(await gateway.gql(UPDATE, { id: chat.id, v: "PUBLIC" }, me.token)).updateChatVisibility).toEqual({
      id: chat.id,
      visibility: "PUBLIC",
    });
    expect((await prisma().chat.findUnique({ where: { id: chat.id } }))!.visibility).toBe("public");
    expectOk(await gateway.gql(UPDATE, { id: chat.id, v: "PRIVATE" }, me.token));
    expect((await prisma().chat.findUnique({ where: { id: chat.id } }))!.visibility).toBe("private");
    expectError(await gateway.gql(UPDATE, { id: newId(), v: "PUBLIC" }, me.token), "not_found:chat");
  });

  test("deleteChat returns the id and removes the chat with its messages and votes", async () => {
    const me = await signedIn();
    const chat = await insertChat(prisma(), { userId: me.id });
    const kept = await insertChat(prisma(), { userId: me.id });
    const message = await insertMessage(prisma(), { chatId: chat.id, userId: me.id, role: "assistant" });
    await prisma().vote.create({ data: { chatId: chat.id, messageId: message.id, isUpvoted: true } });

    const DELETE = `mutation($id: ID!) { deleteChat(id: $id) }`;
    // The id as stored (lowercase), as every other operation returns ids, whatever case was sent.
    expect(expectOk(await gateway.gql(DELETE, { id: chat.id.toUpperCase() }, me.token)).deleteChat).toBe(chat.id);
    expect(expectOk(await gateway.gql(CHAT, { id: chat.id }, me.token)).chat).toBeNull();
    expect(await prisma().message.count({ where: { chatId: chat.id } })).toBe(0);
    expect(await prisma().vote.count()).toBe(0);
    expect(expectOk(await gateway.gql(CHATS, {}, me.token)).chats.edges.map((e: any) => e.node.id)).toEqual([kept.id]);
    expectError(await gateway.gql(DELETE, { id: chat.id }, me.token), "not_found:chat");
  });

  test("a deleted chat's id is never taken again, by anyone: a link to it cannot show another chat", async () => {
    const alice = await signedIn();
    const mallory = await signedIn();
    const chat = await insertChat(prisma(), { userId: alice.id, visibility: "public" });
    expectOk(await gateway.gql(`mutation($id: ID!) { deleteChat(id: $id) }`, { id: chat.id }, alice.token));
    for (const who of [mallory, alice]) {
      const created = await gateway.gql(CREATE_CHAT, { input: { id: chat.id, visibility: "PUBLIC" } }, who.token);
      expectError(created, "bad_request:api");
      expect(created.errors![0].message).toBe(`Chat id ${chat.id} cannot be used; send a new UUID.`);
      const variables = sendInput("Alice's chat, official", { chatId: chat.id });
      const sent = await subscribeWithFetch(gateway.url, variables, { token: who.token });
      expect(sent.events).toEqual([]);
      expectError(sent.results[0], "bad_request:api");
      expect(await prisma().message.findUnique({ where: { id: variables.input.message.id } })).toBeNull();
    }
    expect(await prisma().chat.findUnique({ where: { id: chat.id } })).toBeNull();
  });
});

test("the database itself refuses a deleted chat's id, whoever inserts it (an earlier version's instance in a rolling deploy)", async () => {
  const user = await insertUser(prisma());
  const chat = await insertChat(prisma(), { userId: user.id });
  await prisma().chat.delete({ where: { id: chat.id } });
  await expect(insertChat(prisma(), { id: chat.id, userId: user.id })).rejects.toThrow(
    /belonged to a deleted chat|Unique constraint/,
  );
});
