import { ChatSDKError, codeOf } from "../errors.ts";
import { STALLED_MESSAGE } from "./stall-guard.ts";

// What pg and pg-pool say when the server does not answer in time or the
// connection is gone; Prisma passes these messages through unchanged.
const UNAVAILABLE_MESSAGES = [
  "timeout exceeded when trying to connect", // waiting for a pooled connection
  "Connection terminated due to connection timeout", // connecting a new one
  "timeout expired", // the client's own connect timeout
  "Query read timeout", // no answer to a query
  "Connection terminated unexpectedly",
  "Connection terminated",
  "Client has encountered a connection error and is not queryable",
  STALLED_MESSAGE, // refused at once after such timeouts
];

const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "53300", // too_many_connections
  "57014", // query_canceled: the statement timeout
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
  "P1001", // Prisma: can't reach the database server
  "P1002", // Prisma: the server timed out
  "P1008", // Prisma: operations timed out
  "P1017", // Prisma: the server closed the connection
  "P2024", // Prisma: timed out fetching a connection
]);

/**
 * True when a database error means the database is down, unreachable or too
 * slow right now (worth retrying), rather than that the query was wrong.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = codeOf(e);
    if (code !== undefined && isUnavailableCode(code)) return true;
    if (UNAVAILABLE_MESSAGES.includes(e.message)) return true;
    // Prisma's raw queries ($queryRaw) fail as P2010 with the driver's code and message in `meta`.
    if (code === "P2010" && rawQueryUnavailable((e as { meta?: unknown }).meta)) return true;
  }
  return false;
}

function isUnavailableCode(code: string): boolean {
  return UNAVAILABLE_CODES.has(code) || code.startsWith("08");
}

// The driver adapter's kinds of error (@prisma/driver-adapter-utils) that mean the server is not answering.
const UNAVAILABLE_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);

function rawQueryUnavailable(meta: unknown): boolean {
  const { code, message, driverAdapterError } = (meta ?? {}) as {
    code?: unknown;
    message?: unknown;
    driverAdapterError?: { cause?: { kind?: unknown; code?: unknown; message?: unknown } };
  };
  // Through the driver adapter (Prisma 6), a socket error arrives as a `kind`, a server's error as `postgres` with its code.
  const cause = driverAdapterError?.cause;
  if (cause) {
    if (typeof cause.kind === "string" && UNAVAILABLE_KINDS.has(cause.kind)) return true;
    if (cause.kind === "postgres") return rawQueryUnavailable({ code: cause.code, message: cause.message });
  }
  if (typeof code === "string" && isUnavailableCode(code)) return true;
  if (typeof message !== "string") return false;
  return (
    message.startsWith("Can't reach database server") ||
    UNAVAILABLE_MESSAGES.some((known) => message.includes(known)) ||
    [...UNAVAILABLE_CODES].some((known) => /^E[A-Z_]+$/.test(known) && message.includes(known))
  );
}

/** The refusal a client gets while the database is unavailable: retry later. */
export function databaseUnavailable(): ChatSDKError {
  return new ChatSDKError(
    "offline:chat",
    "The database is not answering right now. Please try again in a few seconds.",
  );
}
