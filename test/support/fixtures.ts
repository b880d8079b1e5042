import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, expect } from "vitest";
import type { PrismaClient } from "../../src/db/client.ts";
import type { GraphQLResult } from "./gateway.ts";

// Small helpers shared by the db-, auth-, api-, quota- and schema- test files.

export const newId = (): string => randomUUID();

/** A MessageInput for saveMessages with one text part. */
export function textMessage(text: string, role: "USER" | "ASSISTANT" | "SYSTEM" = "USER", id: string = newId()) {
  return { id, role, parts: [{ type: "text", text }] };
}

export const SAVE_MESSAGES = /* GraphQL */ `
  mutation Save($chatId: ID!, $messages: [MessageInput!]!) {
    saveMessages(chatId: $chatId, messages: $messages) { id chatId role status createdAt }
  }
`;

export const CREATE_CHAT = /* GraphQL */ `
  mutation Create($input: CreateChatInput!) {
    createChat(input: $input) { id title visibility createdAt }
  }
`;

/** Asserts the result was refused with `code` (in extensions.code). */
export function expectError(result: GraphQLResult, code: string): void {
  expect(result.errors, `expected ${code}, got ${JSON.stringify(result)}`).toBeDefined();
  expect(result.errors!.map((e) => e.extensions?.code)).toContain(code);
}

export function expectOk<T = any>(result: GraphQLResult<T>): T {
  expect(result.errors, JSON.stringify(result.errors)).toBeUndefined();
  return result.data as T;
}

/** Text that must never reach a client: SQL, driver and stack details. */
export function expectNoInternals(payload: unknown): void {
  const text = JSON.stringify(payload);
  for (const leak of [
    /\bat \S+ \(/, // stack frame
    /\.ts:\d+/,
    /node_modules/,
    /\b(SELECT|INSERT|UPDATE|DELETE)\b.*\b(FROM|INTO|SET)\b/i,
    /violates|constraint|foreign key|relation "|duplicate key/i,
    /prisma/i,
    /P20\d\d/,
  ]) {
    expect(text).not.toMatch(leak);
  }
}

export async function insertUser(
  prisma: PrismaClient,
  user: { id?: string; type?: "guest" | "regular"; email?: string | null } = {},
) {
  return prisma.user.create({
    data: { id: user.id ?? newId(), type: user.type ?? "regular", email: user.email ?? null },
  });
}

export async function insertChat(
  prisma: PrismaClient,
  chat: { userId: string; id?: string; title?: string; visibility?: "public" | "private"; createdAt?: Date },
) {
  return prisma.chat.create({
    data: {
      id: chat.id ?? newId(),
      userId: chat.userId,
      title: chat.title ?? "A chat",
      visibility: chat.visibility ?? "private",
      ...(chat.createdAt ? { createdAt: chat.createdAt } : {}),
    },
  });
}

export async function insertMessage(
  prisma: PrismaClient,
  message: {
    chatId: string;
    userId: string;
    id?: string;
    role?: "user" | "assistant" | "system";
    text?: string;
    createdAt?: Date;
  },
) {
  return prisma.message.create({
    data: {
      id: message.id ?? newId(),
      chatId: message.chatId,
      userId: message.userId,
      role: message.role ?? "user",
      parts: [{ type: "text", text: message.text ?? "hello" }],
      attachments: [],
      ...(message.createdAt ? { createdAt: message.createdAt } : {}),
    },
  });
}

export const HOUR = 60 * 60 * 1000;

/**
 * PostgreSQL only: has the server end this database's idle pooled connections
 * while the gateway still handles their errors, so a file that opened many
 * (parallel requests) closes with none left. Works around src/db/client.ts
 * close() returning before its connections are closed: the harness's
 * `DROP DATABASE ... WITH (FORCE)` then kills them and the pool, whose error
 * listener Prisma removed on $disconnect, throws an unhandled 57P01 error.
 */
export async function endIdleConnections(url: string | undefined): Promise<void> {
  if (!url) return;
  const { default: pg } = await import("pg");
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'idle'`,
    );
  } finally {
    await admin.end();
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

/** Closes a test gateway, first ending its idle PostgreSQL connections (see endIdleConnections). */
export async function closeGateway(
  gateway: { database: { url: string | undefined }; close(): Promise<void> } | undefined,
) {
  if (!gateway) return;
  await endIdleConnections(gateway.database.url);
  await gateway.close();
}

/** Drops a test database, first ending its idle PostgreSQL connections (see endIdleConnections). */
export async function dropDatabase(database: { url: string | undefined; drop(): Promise<void> } | undefined) {
  if (!database) return;
  await endIdleConnections(database.url);
  await database.drop();
}

/** A user for a token; the gateway creates the row on first sight, as in production. */
export const newUser = () => ({ id: `user-${randomUUID()}` });

/** Fails the file when a promise rejection goes unhandled while its tests run (call at the top). */
export function failOnUnhandledRejections(): void {
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  beforeAll(() => {
    process.on("unhandledRejection", onUnhandled);
  });
  // Registered first, so it runs after the file's own afterAll hooks.
  afterAll(() => {
    process.off("unhandledRejection", onUnhandled);
    expect(unhandled).toEqual([]);
  });
}
