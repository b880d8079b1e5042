import { ChatSDKError, codeOf } from "../errors.ts";

// A row a write refers to, gone between the request's checks and its write:
// deleteChat or deleteTrailingMessages racing it.
const GONE_CODES = new Set([
  "23503", // foreign_key_violation: what it points at was deleted
  "P2003", // Prisma: the same
  "P2025", // Prisma: the record to update or delete is gone
]);
// Of the foreign keys, those to a chat or a message (not to a user: users are never deleted).
const CHAT_OR_MESSAGE_KEY = /(chatId|messageId)_fkey/;

/** True when a database error means the chat or message the write was about was deleted meanwhile. */
export function isGoneMeanwhile(error: unknown): boolean {
  const chain = chainOf(error);
  for (const e of chain) {
    // Prisma's raw queries fail as P2010 with the driver's code in `meta`.
    const code = codeOf(e) === "P2010" ? String((e as { meta?: { code?: unknown } }).meta?.code) : codeOf(e);
    if (code === "P2025") return true;
    if (code !== undefined && GONE_CODES.has(code)) return CHAT_OR_MESSAGE_KEY.test(describe(chain));
  }
  return false;
}

/** What a client is told when what it asked about was deleted while its request ran. */
export function goneMeanwhile(): ChatSDKError {
  return new ChatSDKError("not_found:chat", "The chat or message was deleted while the request ran.");
}

/** The error and its causes; Prisma's driver adapters put the driver's error, a plain object, in `cause`. */
function chainOf(error: unknown): object[] {
  const chain: object[] = [];
  for (let e = error; typeof e === "object" && e !== null && chain.length < 5; e = (e as Error).cause) chain.push(e);
  return chain;
}

/** Every message and meta of the chain, where the constraint's name is. */
function describe(chain: object[]): string {
  return chain
    .map((e) => {
      const { message, meta, constraint } = e as { message?: unknown; meta?: unknown; constraint?: unknown };
      return `${String(message ?? "")} ${JSON.stringify(meta ?? null)} ${String(constraint ?? "")}`;
    })
    .join(" ");
}
