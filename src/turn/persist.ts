import type { UIMessage } from "ai";
import type { Database } from "../db/client.ts";
import { dbCall } from "../db/queryable.ts";
import { storeTurnOutcome, updateStreamStatus } from "../db/turn-queries.ts";
import type { Message, MessageStatus, StreamStatus } from "../generated/prisma/client.ts";
import type { Usage } from "./events.ts";
import type { PreparedTurn } from "./prepare.ts";

export interface TurnOutcome {
  status: Exclude<MessageStatus, "streaming">;
  message: UIMessage;
  usage: Usage | null;
}

const STREAM_STATUS: Record<TurnOutcome["status"], StreamStatus> = {
  complete: "finished",
  aborted: "aborted",
  failed: "failed",
};

/**
 * Step 5 of a turn, in one statement: the assistant message (a finished turn
 * always; a stopped or failed one when anything arrived), the usage into
 * Chat.lastContext and the Stream row's status. Returns the stored message.
 */
export async function persistTurn(
  db: Database,
  turn: PreparedTurn,
  outcome: TurnOutcome,
  { replacing = false }: { replacing?: boolean } = {},
): Promise<Message | null> {
  // Replacing an answer stored earlier (at `finish`) always rewrites it.
  const keep = replacing || outcome.status === "complete" || outcome.message.parts.length > 0;
  const stored = await dbCall("persistTurn", () =>
    storeTurnOutcome(db.sql, {
      chatId: turn.chat.id,
      streamId: turn.streamId,
      streamStatus: STREAM_STATUS[outcome.status],
      message: keep
        ? { id: turn.assistantMessageId, userId: turn.user.id, parts: outcome.message.parts, status: outcome.status }
        : null,
      // A finished turn's usage replaces the last, even when unknown (null, never zero);
      // a stopped turn only records figures it actually got.
      context: outcome.status === "complete" || outcome.usage !== null ? { value: outcome.usage } : null,
    }),
  );
  if (keep && !stored) throw new Error(`chat ${turn.chat.id} is gone; the answer was not stored`);
  return stored;
}

/** After a failed persist: record at least that the stream failed, if the database lets us. */
export async function markStreamFailed(db: Database, streamId: string): Promise<void> {
  try {
    await dbCall("markStreamFailed", () => updateStreamStatus(db.sql, streamId, "failed"));
  } catch {
    // Already logged by dbCall; the client has its StreamFailed either way.
  }
}
