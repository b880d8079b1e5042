import { mkdirSync } from "node:fs";
import { defineConfig } from "prisma/config";

// The client runs on driver adapters, so the CLI never needs a native engine
// (Prisma 6.19 with engine "js" uses the adapter and its WebAssembly engines);
// a placeholder path stops it from trying to download one.
process.env.PRISMA_QUERY_ENGINE_LIBRARY ??= new URL("./prisma.config.ts", import.meta.url).pathname;
const databaseUrl = process.env.DATABASE_URL;
process.env.DATABASE_URL ??= "postgresql://embedded/pglite";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  experimental: { adapter: true },
  engine: "js",
  async adapter() {
    if (databaseUrl) {
      const { PrismaPg } = await import("@prisma/adapter-pg");
      return new PrismaPg({ connectionString: databaseUrl });
    }
    const { PGlite } = await import("@electric-sql/pglite");
    const { PrismaPGlite } = await import("pglite-prisma-adapter");
    // MIGRATE_DIFF_ONLY: a diff of two schema files needs no database; nor do
    // commands that only ask the adapter its name, such as `prisma -v`, which
    // @prisma/client's postinstall runs. An in-memory one does not hold the
    // process open after the CLI is done; a data directory that already
    // exists does, and `npm install` would hang.
    if (process.env.MIGRATE_DIFF_ONLY || !needsDatabase(process.argv.slice(2))) return new PrismaPGlite(new PGlite());
    const dir = process.env.DATA_DIR ?? "./.data";
    mkdirSync(dir, { recursive: true });
    return new PrismaPGlite(new PGlite(`${dir}/pglite`));
  },
});

function needsDatabase(args: string[]): boolean {
  const [command = ""] = args;
  return !["-v", "--version", "version", "generate", "validate", "format", "-h", "--help", ""].includes(command);
}
