import { describe, expect, test } from "vitest";
import type { Chat, Message } from "../src/generated/prisma/client.ts";
import { useTestGateway, type GraphQLResult } from "./support/gateway.ts";
import {
  expectError,
  expectOk,
  insertChat,
  insertMessage,
  insertUser,
  SAVE_MESSAGES,
  textMessage,
} from "./support/fixtures.ts";

// THE OWNERSHIP MATRIX: every chat operation, for the owner, another regular
// user, a guest and a caller without a token, on a private and a public chat.

const gateway = useTestGateway();

const prisma = () => gateway.database.db.prisma;
const SECRET_TITLE = "owner's secret plans";

type Actor = "owner" | "other regular user" | "guest" | "no token";
type Visibility = "private" | "public";

interface World {
  chat: Chat;
  userMessage: Message;
  assistantMessage: Message;
  tokens: Record<Actor, string | null>;
}

async function world(visibility: Visibility): Promise<World> {
  const owner = await insertUser(prisma());
  const other = await insertUser(prisma());
  const guest = await insertUser(prisma(), { type: "guest" });
  const chat = await insertChat(prisma(), { userId: owner.id, visibility, title: SECRET_TITLE });
  const t0 = Date.now() - 60_000;
  const userMessage = await insertMessage(prisma(), {
    chatId: chat.id,
    userId: owner.id,
    text: "secret question",
    createdAt: new Date(t0),
  });
  const assistantMessage = await insertMessage(prisma(), {
    chatId: chat.id,
    userId: owner.id,
    role: "assistant",
    text: "secret answer",
    createdAt: new Date(t0 + 1000),
  });
  return {
    chat,
    userMessage,
    assistantMessage,
    tokens: {
      owner: await gateway.tokenFor({ id: owner.id }),
      "other regular user": await gateway.tokenFor({ id: other.id }),
      guest: await gateway.tokenFor({ id: guest.id, type: "guest" }),
      "no token": null,
    },
  };
}

interface Operation {
  name: string;
  read: boolean;
  run(w: World, token: string | null): Promise<GraphQLResult>;
  /** Checks the effect of an allowed call. */
  allowed(w: World, result: GraphQLResult): Promise<void>;
}

const messageCount = (w: World) => prisma().message.count({ where: { chatId: w.chat.id } });

const operations: Operation[] = [
  {
    name: "chat",
    read: true,
    run: (w, token) => gateway.gql(`query($id: ID!) { chat(id: $id) { id title } }`, { id: w.chat.id }, token),
    async allowed(w, result) {
      expect(expectOk(result).chat).toEqual({ id: w.chat.id, title: SECRET_TITLE });
    },
  },
  {
    // No field of the chat selected: the refusal cannot rest on the type's fields alone.
    name: "chat { __typename }",
    read: true,
    run: (w, token) => gateway.gql(`query($id: ID!) { chat(id: $id) { __typename } }`, { id: w.chat.id }, token),
    async allowed(_w, result) {
      expect(expectOk(result).chat).toEqual({ __typename: "Chat" });
    },
  },
  {
    name: "chat.messages",
    read: true,
    run: (w, token) =>
      gateway.gql(
        `query($id: ID!) { chat(id: $id) { messages { edges { node { id parts { ... on TextPart { text } } } } } } }`,
        { id: w.chat.id },
        token,
      ),
    async allowed(w, result) {
      expect(expectOk(result).chat.messages.edges.map((e: any) => e.node.id)).toEqual([
        w.userMessage.id,
        w.assistantMessage.id,
      ]);
    },
  },
  {
    name: "updateChatVisibility",
    read: false,
    run: (w, token) =>
      gateway.gql(
        `mutation($id: ID!, $v: Visibility!) { updateChatVisibility(id: $id, visibility: $v) { id visibility } }`,
        { id: w.chat.id, v: w.chat.visibility === "public" ? "PRIVATE" : "PUBLIC" },
        token,
      ),
    async allowed(w, result) {
      expectOk(result);
      const stored = await prisma().chat.findUnique({ where: { id: w.chat.id } });
      expect(stored!.visibility).not.toBe(w.chat.visibility);
    },
  },
  {
    name: "deleteChat",
    read: false,
    run: (w, token) => gateway.gql(`mutation($id: ID!) { deleteChat(id: $id) }`, { id: w.chat.id }, token),
    async allowed(w, result) {
      expect(expectOk(result).deleteChat).toBe(w.chat.id);
      expect(await prisma().chat.findUnique({ where: { id: w.chat.id } })).toBeNull();
    },
  },
  {
    name: "deleteTrailingMessages",
    read: false,
    run: (w, token) =>
      gateway.gql(
        `mutation($id: ID!) { deleteTrailingMessages(messageId: $id) }`,
        { id: w.assistantMessage.id },
        token,
      ),
    async allowed(w, result) {
      expect(expectOk(result).deleteTrailingMessages).toBe(1);
      expect(await messageCount(w)).toBe(1);
    },
  },
  {
    name: "voteMessage",
    read: false,
    run: (w, token) =>
      gateway.gql(
        `mutation($c: ID!, $m: ID!) { voteMessage(chatId: $c, messageId: $m, up: true) }`,
        { c: w.chat.id, m: w.assistantMessage.id },
        token,
      ),
    async allowed(_w, result) {
      expect(expectOk(result).voteMessage).toBe(true);
      expect(await prisma().vote.count()).toBe(1);
    },
  },
  {
    name: "saveMessages",
    read: false,
    run: (w, token) => gateway.gql(SAVE_MESSAGES, { chatId: w.chat.id, messages: [textMessage("let me in")] }, token),
    async allowed(w, result) {
      expect(expectOk(result).saveMessages).toHaveLength(1);
      expect(await messageCount(w)).toBe(3);
    },
  },
];

/** Nothing changed and nothing of the chat leaked. */
async function expectUntouched(w: World, result: GraphQLResult) {
  expect(result.data?.chat ?? null).toBeNull();
  const body = JSON.stringify(result);
  expect(body).not.toContain(SECRET_TITLE);
  expect(body).not.toContain("secret question");
  expect(body).not.toContain("secret answer");
  const stored = await prisma().chat.findUnique({ where: { id: w.chat.id } });
  expect(stored).toMatchObject({ visibility: w.chat.visibility, title: SECRET_TITLE });
  expect(await messageCount(w)).toBe(2);
  expect(await prisma().vote.count()).toBe(0);
}

function expectedCode(actor: Actor, visibility: Visibility, operation: Operation): string | null {
  if (actor === "owner") return null;
  if (actor === "no token") return "unauthorized:chat";
  if (operation.read && visibility === "public") return null;
  return "forbidden:chat";
}

const actors: Actor[] = ["owner", "other regular user", "guest", "no token"];

for (const visibility of ["private", "public"] as const) {
  describe(`a ${visibility} chat`, () => {
    for (const operation of operations) {
      for (const actor of actors) {
        const code = expectedCode(actor, visibility, operation);
        test(`${operation.name} by ${actor}: ${code ?? "allowed"}`, async () => {
          const w = await world(visibility);
          const result = await operation.run(w, w.tokens[actor]);
          if (code === null) {
            await operation.allowed(w, result);
          } else {
            expectError(result, code);
            await expectUntouched(w, result);
          }
        });
      }
    }
  });
}

test("chats lists only the caller's own chats, never public chats of others", async () => {
  const w = await world("public");
  for (const actor of ["other regular user", "guest"] as const) {
    expect(expectOk(await gateway.gql(`{ chats { edges { node { id } } } }`, {}, w.tokens[actor])).chats.edges).toEqual(
      [],
    );
  }
  expect(expectOk(await gateway.gql(`{ chats { edges { node { id } } } }`, {}, w.tokens.owner)).chats.edges).toEqual([
    { node: { id: w.chat.id } },
  ]);
});
