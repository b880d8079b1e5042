// What counts as "the database is not answering" (offline:chat, try again)
// rather than a query the database refused (bad_request:database).
import { expect, test } from "vitest";
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
