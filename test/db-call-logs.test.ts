// What dbCall logs at which level: a client's race for an id is not an incident.
import { afterEach, expect, test, vi } from "vitest";
import { dbCall } from "../src/db/queryable.ts";
import { log } from "../src/log.ts";

afterEach(() => vi.restoreAllMocks());

const failing = (code: string) => () => Promise.reject(Object.assign(new Error(`failed (${code})`), { code }));

test("a unique violation (two requests creating one id) is logged as info, not error, and refused as a database error", async () => {
  const error = vi.spyOn(log, "error");
  const info = vi.spyOn(log, "info");
  for (const code of ["P2002", "23505"]) {
    await expect(dbCall("saveChat", failing(code))).rejects.toMatchObject({ code: "bad_request:database" });
  }
  expect(error).not.toHaveBeenCalled();
  expect(info).toHaveBeenCalledTimes(2);
});

test("any other failure the database refused is logged as an error", async () => {
  const error = vi.spyOn(log, "error");
  await expect(dbCall("saveChat", failing("22P02"))).rejects.toMatchObject({ code: "bad_request:database" });
  expect(error).toHaveBeenCalledWith("database query failed", expect.objectContaining({ query: "saveChat" }));
});
