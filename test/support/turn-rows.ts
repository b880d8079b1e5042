// A turn's rows written straight into the test database (no gateway), and a
// database whose driver SQL can be refused: for the lease and recovery tests.
import { randomUUID } from "node:crypto";
import type { Database } from "../../src/db/client.ts";
import { beginTurn } from "../../src/db/turn-queries.ts";

/** The database, with its driver SQL refused (ECONNREFUSED, as pg says it) while `down`. */
export function switchable(db: Database) {
  const state = { down: false };
  const refused = () => Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
  const wrapped: Database = {
    ...db,
    sql: {
      query: (text, params) => (state.down ? Promise.reject(refused()) : db.sql.query(text, params)),
    },
  };
  return { db: wrapped, state };
}

/** A running turn of `userId` in a new chat, as begin_turn stores it, owned (leased) by `ownerId`. */
export async function beginStoredTurn(db: Database, userId: string, ownerId: string) {
  const [streamId, chatId, assistantMessageId] = [randomUUID(), randomUUID(), randomUUID()];
  const begun = await beginTurn(db.sql, {
    userId,
    quotaSince: new Date(0),
    quotaLimit: 100,
    chatId,
    title: "A chat",
    visibility: "private",
    messageId: randomUUID(),
    parts: [{ type: "text", text: "Tell me." }],
    streamId,
    now: new Date(),
    assistantMessageId,
    ownerId,
  });
  if (begun.refusal) throw new Error(`begin_turn refused the test turn: ${begun.refusal}`);
  return { streamId, chatId, assistantMessageId };
}
