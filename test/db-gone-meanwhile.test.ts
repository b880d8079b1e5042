// A write whose chat or message was deleted between the request's checks and
// the write (deleteChat or deleteTrailingMessages racing it) is not_found:chat,
// not an unexpected bad_request:database. The real errors of Prisma and of the
// driver, on PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dbCall } from "../src/db/queryable.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";

describe("a write racing a delete", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  const gone = { code: "not_found:chat", message: expect.stringMatching(/deleted while the request ran/) };

  it("a row pointing at a deleted chat (Prisma's foreign key error)", async () => {
    const { prisma } = database.db;
    const write = () =>
      prisma.vote.create({ data: { chatId: randomUUID(), messageId: randomUUID(), isUpvoted: true } });
    await expect(dbCall("voteMessage", write)).rejects.toMatchObject(gone);
  });

  it("an update of a deleted row (Prisma's record not found)", async () => {
    const { prisma } = database.db;
    const write = () => prisma.chat.update({ where: { id: randomUUID() }, data: { visibility: "public" } });
    await expect(dbCall("updateChatVisibility", write)).rejects.toMatchObject(gone);
  });

  it("a statement on the driver inserting into a deleted chat", async () => {
    const { sql } = database.db;
    const write = () =>
      sql.query(`INSERT INTO "Vote" ("chatId", "messageId", "isUpvoted") VALUES ($1::uuid, $2::uuid, true)`, [
        randomUUID(),
        randomUUID(),
      ]);
    await expect(dbCall("beginTurn", write)).rejects.toMatchObject(gone);
  });

  it("anything else stays bad_request:database", async () => {
    const { sql } = database.db;
    await expect(dbCall("broken", () => sql.query("SELECT * FROM no_such_table"))).rejects.toMatchObject({
      code: "bad_request:database",
    });
  });
});
