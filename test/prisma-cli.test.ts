// The Prisma CLI as npm runs it on install: @prisma/client's postinstall calls
// `prisma -v`, which asks prisma.config.ts for its adapter.
import { execFile } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, expect, test } from "vitest";

const run = promisify(execFile);
const dataDir = mkdtempSync(join(tmpdir(), "gw-prisma-cli-"));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

// As under npm: node_modules/.bin first, so its Node 24 runs the CLI; none of
// the test runner's own variables.
const env = { PATH: `${resolve("node_modules/.bin")}:${process.env.PATH}`, HOME: process.env.HOME, DATA_DIR: dataDir };

test("`prisma -v` exits on a data directory a process left without closing (npm install run twice)", async () => {
  // What an earlier `prisma -v` or a killed gateway leaves behind.
  await run(
    "node",
    [
      "--input-type=module",
      "-e",
      `const { PGlite } = await import("@electric-sql/pglite");
       const db = await PGlite.create(${JSON.stringify(join(dataDir, "pglite"))});
       await db.query("select 1");
       process.exit(0);`,
    ],
    { env },
  );
  const { stdout } = await run("prisma", ["-v"], { env, timeout: 60_000 });
  expect(stdout).toContain("pglite-prisma-adapter");
}, 90_000);
