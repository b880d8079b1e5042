import { tracingChannel } from "node:diagnostics_channel";
import type { Prisma, PrismaClient } from "../generated/prisma/client.ts";
import { ChatSDKError, codeOf, isChatSDKError } from "../errors.ts";
import { log } from "../log.ts";
import { goneMeanwhile, isGoneMeanwhile } from "./gone-meanwhile.ts";
import { databaseUnavailable, isDatabaseUnavailable } from "./unavailable.ts";

/** A client or an open transaction: every query function takes either. */
export type Queryable = PrismaClient | Prisma.TransactionClient;

/**
 * Runs a query and turns any driver failure into a client's error, logging
 * the details, which never reach the client: `offline:chat` (try again) while
 * the database is unavailable, `not_found:chat` when the chat or message it
 * wrote about was deleted meanwhile, `bad_request:database` otherwise. Every
 * wait inside is bounded (src/db/postgres.ts).
 */
export async function dbCall<T>(name: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (isChatSDKError(error)) throw error;
    if (isDatabaseUnavailable(error)) {
      log.warn("database unavailable", { query: name, error });
      throw databaseUnavailable();
    }
    if (isGoneMeanwhile(error)) {
      log.info("a write found its chat or message deleted meanwhile", { query: name, error });
      throw goneMeanwhile();
    }
    if (isUniqueViolation(error)) {
      // Ids are the clients' own: two requests racing to create one is the clients' doing, not an
      // incident (the callers that create by id answer it as "id cannot be used").
      log.info("a write lost a race for an id to a concurrent one", { query: name, error: String(error) });
    } else log.error("database query failed", { query: name, error });
    throw new ChatSDKError("bad_request:database");
  }
}

/** Prisma's unique-constraint failure, or PostgreSQL's (23505) through the driver. */
function isUniqueViolation(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = codeOf(e);
    if (code === "P2002" || code === "23505") return true;
  }
  return false;
}

/** Published around the turn's statements on the driver, for diagnostics (the benchmark's stage trace). */
const statementChannel = tracingChannel<{ name: string }>("chat-gateway:db.statement");

/** Runs one of the turn's statements on the driver, traced, failures as in dbCall. */
export function tracedDbCall<T>(name: string, run: () => Promise<T>): Promise<T> {
  return dbCall(name, () => statementChannel.tracePromise(run, { name }));
}

/** Runs `work` in one transaction, so a failure leaves nothing half-written. */
export function inTransaction<T>(
  prisma: PrismaClient,
  name: string,
  work: (tx: Prisma.TransactionClient) => Promise<T>,
): Promise<T> {
  return dbCall(name, () => prisma.$transaction(work, { maxWait: 10_000, timeout: 20_000 }));
}
