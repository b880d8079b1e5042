import { mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { databaseTimeoutsOf, parseEnv, poolSizeOf } from "../config/env.ts";
import { PrismaClient } from "../generated/prisma/client.ts";
import { lockDataDir } from "./data-dir-lock.ts";
import { openPostgres } from "./postgres.ts";

export type { PrismaClient };

/** Parameterised SQL straight on the driver: `$1`-style placeholders, rows as objects. */
export interface Sql {
  query<T = Record<string, unknown>>(text: string, params?: unknown[]): Promise<T[]>;
}

/**
 * The gateway's database: a Prisma client over a driver it owns, plus SQL on
 * that driver for the turn's hot path (Prisma's per-query cost: BENCHMARKS.md)
 * and multi-statement scripts for migrations.
 */
export interface Database {
  readonly kind: "postgres" | "pglite";
  readonly prisma: PrismaClient;
  /** Single statements on the driver (each one atomic on its own). */
  readonly sql: Sql;
  /** Runs one or more SQL statements with no parameters. */
  exec(sql: string): Promise<void>;
  /**
   * Runs start-up work (migrations) on one connection of its own, with no
   * statement timeout: each statement is bounded by the migration timeout.
   */
  session<T>(work: (session: Session) => Promise<T>): Promise<T>;
  /** Bounded: connections that do not say goodbye in time are closed outright. */
  close(): Promise<void>;
}

/** Statements on one connection: SQL with parameters, or scripts without. */
export interface Session extends Sql {
  exec(sql: string): Promise<void>;
}

/** Milliseconds (README: "When the database is slow or down"); PGlite, in-process, needs none. */
export type DatabaseTimeouts = ReturnType<typeof databaseTimeoutsOf>;

export interface DatabaseOptions {
  /** PostgreSQL connection string; absent means the embedded PGlite. */
  url?: string;
  /** Where PGlite keeps its files; `memory://` for a throwaway database. */
  dataDir: string;
  /** Connections at most (DB_POOL_SIZE); default: a process alone's. */
  poolSize?: number;
  /** Default: the settings' defaults. */
  timeouts?: DatabaseTimeouts;
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  if (!options.url) return openPglite(options.dataDir);
  const defaults = parseEnv({});
  return openPostgres(
    options.url,
    options.poolSize ?? poolSizeOf(defaults, false),
    options.timeouts ?? databaseTimeoutsOf(defaults),
  );
}

async function openPglite(dataDir: string): Promise<Database> {
  let location = dataDir;
  let unlock = () => {};
  if (!dataDir.startsWith("memory://")) {
    location = join(resolve(dataDir), "pglite");
    mkdirSync(location, { recursive: true });
    unlock = await lockDataDir(resolve(dataDir));
  }
  const pglite = await PGlite.create(location).catch((error: unknown) => {
    unlock();
    throw error;
  });
  const prisma = new PrismaClient({ adapter: new PrismaPGlite(pglite) });
  return {
    kind: "pglite",
    prisma,
    sql: { query: async (text, params) => (await pglite.query<never>(text, params)).rows },
    async exec(sql) {
      await pglite.exec(sql);
    },
    session: (work) =>
      work({
        query: async (text, params) => (await pglite.query<never>(text, params)).rows,
        exec: async (sql) => void (await pglite.exec(sql)),
      }),
    // The adapter does not close PGlite: without this the process hangs at exit.
    async close() {
      await prisma.$disconnect();
      await pglite.close();
      unlock();
    },
  };
}
