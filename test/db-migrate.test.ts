import { expect, test } from "vitest";
import { applyMigrations, migrationsApplied } from "../src/db/migrate.ts";
import { useTestDatabase } from "./support/file-hooks.ts";

const database = useTestDatabase({ resetEachTest: false });

test("a migrated database is ready, and applying again applies nothing", async () => {
  expect(await migrationsApplied(database.db)).toBe(true);
  expect(await applyMigrations(database.db)).toEqual([]);
});

test("a migration edited after it was applied stops the start with its name, and changes nothing", async () => {
  const [first] = await database.db.sql.query<{ migration_name: string; checksum: string }>(
    `SELECT migration_name, checksum FROM "_prisma_migrations" ORDER BY migration_name LIMIT 1`,
  );
  await database.db.exec(
    `UPDATE "_prisma_migrations" SET checksum = repeat('0', 64) WHERE migration_name = '${first.migration_name}'`,
  );
  try {
    await expect(applyMigrations(database.db)).rejects.toThrow(
      new RegExp(`migration ${first.migration_name} was modified after it was applied`),
    );
  } finally {
    await database.db.exec(
      `UPDATE "_prisma_migrations" SET checksum = '${first.checksum}' WHERE migration_name = '${first.migration_name}'`,
    );
  }
  expect(await applyMigrations(database.db)).toEqual([]);
});
