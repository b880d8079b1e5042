import { createHash, randomUUID } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Database } from "./client.ts";

const MIGRATIONS_DIR = new URL("../../prisma/migrations/", import.meta.url).pathname;
// Prisma's own advisory lock key, so this and `prisma migrate deploy` never run at once.
const LOCK_KEY = 72707369;

interface Migration {
  name: string;
  sql: string;
  /** As Prisma computes it: the SHA-256 of the file, in hex. */
  checksum: string;
}

let folder: Promise<Migration[]> | undefined;

/** prisma/migrations, read once per process: the folder does not change under a running gateway. */
function migrations(): Promise<Migration[]> {
  folder ??= (async () => {
    const names = (await readdir(MIGRATIONS_DIR, { withFileTypes: true }))
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name)
      .sort();
    return Promise.all(
      names.map(async (name) => {
        const sql = await readFile(join(MIGRATIONS_DIR, name, "migration.sql"), "utf8");
        return { name, sql, checksum: createHash("sha256").update(sql).digest("hex") };
      }),
    );
  })();
  return folder;
}

/**
 * Applies prisma/migrations in order at start-up, keeping Prisma's
 * `_prisma_migrations` bookkeeping so `prisma migrate status` agrees. Runs
 * in-process because Prisma's CLI is a separate, slow process and PGlite
 * lives inside this one.
 */
export async function applyMigrations(db: Database): Promise<string[]> {
  const folderMigrations = await migrations();
  // On one connection of its own: the advisory lock is the session's, and a
  // migration may take longer than a request's statement timeout.
  return db.session(async (session) => {
    const lock = db.kind === "postgres";
    if (lock) await session.exec(`SELECT pg_advisory_lock(${LOCK_KEY})`);
    await session.exec(`CREATE TABLE IF NOT EXISTS "_prisma_migrations" (
      "id" VARCHAR(36) PRIMARY KEY NOT NULL,
      "checksum" VARCHAR(64) NOT NULL,
      "finished_at" TIMESTAMPTZ,
      "migration_name" VARCHAR(255) NOT NULL,
      "logs" TEXT,
      "rolled_back_at" TIMESTAMPTZ,
      "started_at" TIMESTAMPTZ NOT NULL DEFAULT now(),
      "applied_steps_count" INTEGER NOT NULL DEFAULT 0
    )`);
    const rows = await session.query<{ migration_name: string; checksum: string }>(
      `SELECT migration_name, checksum FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
    );
    const done = new Map(rows.map((row) => [row.migration_name, row.checksum]));
    // As `prisma migrate` does: a migration edited after it was applied means
    // this database was built from other SQL than the folder says.
    const edited = folderMigrations.filter((m) => done.has(m.name) && done.get(m.name) !== m.checksum);
    if (edited.length > 0) {
      throw new Error(
        `migration ${edited.map((m) => m.name).join(", ")} was modified after it was applied to this database; ` +
          "restore the applied file and put the change in a new migration (npm run migrate:new)",
      );
    }
    const applied: string[] = [];
    for (const { name, sql, checksum } of folderMigrations) {
      if (done.has(name)) continue;
      await session.exec(`BEGIN;\n${sql}\n;INSERT INTO "_prisma_migrations"
        (id, checksum, finished_at, migration_name, applied_steps_count)
        VALUES ('${randomUUID()}', '${checksum}', now(), '${name.replaceAll("'", "''")}', 1);\nCOMMIT;`);
      applied.push(name);
    }
    // On a failure the session's connection is closed, which releases the lock.
    if (lock) await session.exec(`SELECT pg_advisory_unlock(${LOCK_KEY})`);
    return applied;
  });
}

/** True when every migration folder has been applied (for /ready). */
export async function migrationsApplied(db: Database): Promise<boolean> {
  const names = (await migrations()).length;
  const rows = await db.prisma.$queryRawUnsafe<{ n: number }[]>(
    `SELECT count(*)::int AS n FROM "_prisma_migrations" WHERE finished_at IS NOT NULL AND rolled_back_at IS NULL`,
  );
  return (rows[0]?.n ?? 0) >= names;
}
