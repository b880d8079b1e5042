import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "../generated/prisma/client.ts";
import { log } from "../log.ts";

export type { PrismaClient };

/**
 * The gateway's database: a Prisma client over a driver it owns, plus raw
 * multi-statement SQL for migrations (Prisma's raw queries are single-statement).
 */
export interface Database {
  readonly kind: "postgres" | "pglite";
  readonly prisma: PrismaClient;
  /** Runs one or more SQL statements with no parameters. */
  exec(sql: string): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** PostgreSQL connection string; absent means the embedded PGlite. */
  url?: string;
  /** Where PGlite keeps its files; `memory://` for a throwaway database. */
  dataDir: string;
  poolSize?: number;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  return options.url ? openPostgres(options.url, options.poolSize ?? 10) : openPglite(options.dataDir);
}

function openPostgres(url: string, max: number): Database {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle client's error (server restart, killed backend) is re-emitted on the
  // pool; unheard, it would crash the process. The pool replaces the client.
  pool.on("error", (error) => log.warn("idle database connection failed", { error }));
  const prisma = new PrismaClient({ adapter: new PrismaPg(pool) });
  return {
    kind: "postgres",
    prisma,
    async exec(sql) {
      await pool.query(sql);
    },
    async close() {
      await prisma.$disconnect();
      await pool.end();
    },
  };
}

async function openPglite(dataDir: string): Promise<Database> {
  let location = dataDir;
  if (!dataDir.startsWith("memory://")) {
    location = join(resolve(dataDir), "pglite");
    mkdirSync(location, { recursive: true });
  }
  const pglite = await PGlite.create(location);
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    kind: "pglite",
    prisma,
    async exec(sql) {
      await pglite.exec(sql);
    },
    // The adapter does not close PGlite: without this the process hangs at exit.
    async close() {
      await prisma.$disconnect();
      await pglite.close();
    },
  };
}
