// A page of chats with their messages and votes costs a fixed number of
// database queries, however many chats the page holds (issue #13.12): the
// nested fields are batched per request. Queries are counted on the Prisma
// client the gateway is given.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { PrismaClient } from "../src/db/client.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import {
  closeGateway,
  dropDatabase,
  expectOk,
  HOUR,
  insertChat,
  insertMessage,
  insertUser,
} from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

let database: TestDatabase;
let gateway: TestGateway;
const queries: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
  const counted = database.db.prisma.$extends({
    query: {
      $allOperations({ model, operation, args, query }) {
        queries.push(`${model ?? ""}.${operation}`);
        return query(args);
      },
    },
  }) as unknown as PrismaClient;
  gateway = await startTestGateway({}, { database: { ...database, db: { ...database.db, prisma: counted } } });
});
afterAll(async () => {
  await closeGateway(gateway);
  await dropDatabase(database);
});

const CHATS = /* GraphQL */ `
  query ($first: Int) {
    chats(first: $first) {
      edges {
        node {
          title
          messages(first: 2) { edges { node { parts { ... on TextPart { text } } } } pageInfo { hasNextPage } }
          votes { isUpvoted }
        }
      }
    }
  }
`;

/** A user with `n` chats ("chat 0" newest), each with three messages and a vote on its second. */
async function userWithChats(n: number) {
  const prisma = database.db.prisma;
  const user = await insertUser(prisma);
  const start = Date.now() - HOUR;
  for (let i = n - 1; i >= 0; i--) {
    const chat = await insertChat(prisma, {
      userId: user.id,
      title: `chat ${i}`,
      createdAt: new Date(start + (n - i) * 1000),
    });
    const messages = [];
    for (let j = 0; j < 3; j++) {
      const role = j === 1 ? "assistant" : "user";
      const at = new Date(start + (n - i) * 1000 + j);
      messages.push(
        await insertMessage(prisma, { chatId: chat.id, userId: user.id, role, text: `${i}.${j}`, createdAt: at }),
      );
    }
    await prisma.vote.create({ data: { chatId: chat.id, messageId: messages[1].id, isUpvoted: i % 2 === 0 } });
  }
  return { token: await gateway.tokenFor({ id: user.id }) };
}

async function readChats(token: string, first: number) {
  queries.length = 0;
  const data = expectOk(await gateway.gql(CHATS, { first }, token));
  return { queries: queries.length, chats: data.chats.edges.map((edge: { node: unknown }) => edge.node) };
}

describe("chats { messages votes }", () => {
  test("a page of 12 chats costs as many queries as a page of 2, and each chat gets its own messages and votes", async () => {
    const { token } = await userWithChats(12);
    await readChats(token, 1); // the first request of a token also looks up its user
    const small = await readChats(token, 2);
    const large = await readChats(token, 12);
    expect(large.chats).toHaveLength(12);
    expect(large.queries).toBe(small.queries);
    expect(large.queries).toBeLessThanOrEqual(5);
    large.chats.forEach((chat: any, i: number) => {
      expect(chat).toEqual({
        title: `chat ${i}`,
        messages: {
          edges: [{ node: { parts: [{ text: `${i}.0` }] } }, { node: { parts: [{ text: `${i}.1` }] } }],
          pageInfo: { hasNextPage: true },
        },
        votes: [{ isUpvoted: i % 2 === 0 }],
      });
    });
  });

  test("the same field with different page arguments in one query: each gets its own page", async () => {
    const { token } = await userWithChats(3);
    const query = /* GraphQL */ `{
      chats { edges { node {
        one: messages(first: 1) { edges { node { parts { ... on TextPart { text } } } } }
        all: messages { edges { node { parts { ... on TextPart { text } } } } }
      } } }
    }`;
    const texts = (page: any) => page.edges.map((edge: any) => edge.node.parts[0].text);
    const chats = expectOk(await gateway.gql(query, {}, token)).chats.edges.map((edge: any) => edge.node);
    expect(chats.map((chat: any) => [texts(chat.one), texts(chat.all)])).toEqual(
      [0, 1, 2].map((i) => [[`${i}.0`], [`${i}.0`, `${i}.1`, `${i}.2`]]),
    );
  });
});
