// Which database failures a client is told to retry (offline:chat) and which
// are errors (bad_request:database). Needs no server: a closed port refuses.
import { createServer } from "node:net";
import { afterAll, beforeAll, expect, test } from "vitest";
import { openDatabase, type Database } from "../src/db/client.ts";
import { dbCall } from "../src/db/queryable.ts";

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

let refusing: Database;
beforeAll(async () => {
  refusing = await openDatabase({ url: `postgresql://postgres@127.0.0.1:${await closedPort()}/none`, dataDir: "" });
});
afterAll(async () => {
  await refusing?.close();
});

test("a database that refuses connections gives offline:chat with a retry hint, through Prisma and through SQL", async () => {
  const queries: (() => Promise<unknown>)[] = [
    () => refusing.prisma.user.count(),
    () => refusing.sql.query("SELECT 1"),
  ];
  for (const run of queries) {
    const refused = await dbCall("probe", run).then(
      () => expect.unreachable("the query should have been refused"),
      (error: unknown) => error as { extensions: { code: string }; message: string },
    );
    expect(refused.extensions.code).toBe("offline:chat");
    expect(refused.message).toMatch(/try again/i);
    expect(refused.message).not.toMatch(/ECONNREFUSED|127\.0\.0\.1|postgres/i);
  }
});

test("a query the database rejects stays bad_request:database", async () => {
  const undefinedTable = Object.assign(new Error('relation "no_such_table" does not exist'), { code: "42P01" });
  await expect(dbCall("probe", () => Promise.reject(undefinedTable))).rejects.toMatchObject({
    extensions: { code: "bad_request:database" },
  });
});
