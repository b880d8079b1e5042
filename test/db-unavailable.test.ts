// What counts as "the database is not answering" (offline:chat, try again)
// rather than a query the database refused (bad_request:database).
import { expect, test } from "vitest";
import { databaseTimeoutsOf, parseEnv } from "../src/config/env.ts";
import { openPostgres } from "../src/db/postgres.ts";
import { getMessageCountByUserId } from "../src/db/quota-ledger.ts";
import { isDatabaseUnavailable } from "../src/db/unavailable.ts";

const prismaRaw = (meta: Record<string, unknown>) =>
  Object.assign(new Error(`Raw query failed. Code: \`${meta.code}\`. Message: \`${meta.message}\``), {
    code: "P2010",
    meta,
  });

test("a raw query ($queryRaw) that could not reach the database is unavailable, one the database refused is not", () => {
  expect(
    isDatabaseUnavailable(prismaRaw({ code: "N/A", message: "Can't reach database server at `127.0.0.1:5891`" })),
  ).toBe(true);
  expect(isDatabaseUnavailable(prismaRaw({ code: "N/A", message: "Connection terminated unexpectedly" }))).toBe(true);
  expect(isDatabaseUnavailable(prismaRaw({ code: "N/A", message: "connect ECONNREFUSED 127.0.0.1:5891" }))).toBe(true);
  expect(isDatabaseUnavailable(prismaRaw({ code: "57P01", message: "terminating connection" }))).toBe(true);
  expect(isDatabaseUnavailable(prismaRaw({ code: "22P02", message: "invalid input syntax for type uuid" }))).toBe(
    false,
  );
  expect(isDatabaseUnavailable(new Error("syntax error at or near"))).toBe(false);
});

test("a raw query through Prisma's driver adapter to a server that refuses connections is unavailable", async () => {
  const database = openPostgres("postgresql://postgres@127.0.0.1:9/none", 1, databaseTimeoutsOf(parseEnv({})));
  try {
    // As `me.messagesLeftToday` asks it: offline:chat (retry), not bad_request:database.
    await expect(getMessageCountByUserId(database.prisma, "someone", new Date())).rejects.toMatchObject({
      code: "offline:chat",
    });
  } finally {
    await database.close();
  }
});
