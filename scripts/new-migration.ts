// Writes the next migration: `npm run migrate:new -- <name>` after editing prisma/schema.prisma.
// It diffs the schema as last committed (which the committed migrations build) against the
// working copy, with no database: Prisma's shadow-database replay does not work through the
// driver adapters used here (multi-statement migrations are refused).
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const name = process.argv[2];
if (!name || !/^[a-z0-9_]+$/.test(name)) {
  console.error("usage: npm run migrate:new -- <name>   (lower case, digits and _)");
  process.exit(2);
}
const root = new URL("../", import.meta.url).pathname;
const committed = join(mkdtempSync(join(tmpdir(), "schema-")), "schema.prisma");
writeFileSync(committed, execFileSync("git", ["show", "HEAD:prisma/schema.prisma"], { cwd: root }));
// Run with this Node (24): the CLI's `env node` shebang could find an older one on PATH.
const sql = execFileSync(
  process.execPath,
  [
    join(root, "node_modules/prisma/build/index.js"),
    "migrate",
    "diff",
    "--from-schema-datamodel",
    committed,
    "--to-schema-datamodel",
    "prisma/schema.prisma",
    "--script",
  ],
  {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, MIGRATE_DIFF_ONLY: "1" },
  },
);
if (sql.includes("This is an empty migration")) {
  console.error("prisma/schema.prisma has no changes against HEAD: nothing to write.");
  process.exit(1);
}
const stamp = new Date().toISOString().replace(/\D/g, "").slice(0, 14);
const dir = join(root, "prisma/migrations", `${stamp}_${name}`);
mkdirSync(dir, { recursive: true });
writeFileSync(join(dir, "migration.sql"), sql);
console.log(`wrote ${join(dir, "migration.sql")}; it is applied on the next start.`);
