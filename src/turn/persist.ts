import type { UIMessage } from "ai";
import type { Database } from "../db/client.ts";
import { inSqlTransaction } from "../db/queryable.ts";
import {
  insertMessage,
  latestMessageTime,
  lockChat,
  nextMessageTime,
  updateChatLastContext,
  updateStreamStatus,
} from "../db/turn-queries.ts";
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
 * Step 5 of a turn, in one transaction: the assistant message (a finished turn
 * always; a stopped or failed one when anything arrived), the usage into
 * Chat.lastContext and the Stream row's status. Returns the stored message.
 */
export function persistTurn(db: Database, turn: PreparedTurn, outcome: TurnOutcome): Promise<Message | null> {
  return inSqlTransaction(db, "persistTurn", async (sql) => {
    if (!(await lockChat(sql, turn.chat.id))) throw new Error(`chat ${turn.chat.id} is gone`);
    let stored: Message | null = null;
    if (outcome.status === "complete" || outcome.message.parts.length > 0) {
      stored = await insertMessage(sql, {
        id: turn.assistantMessageId,
        chatId: turn.chat.id,
        userId: turn.user.id,
        role: "assistant",
        parts: outcome.message.parts,
        status: outcome.status,
        createdAt: nextMessageTime(await latestMessageTime(sql, turn.chat.id)),
      });
      if (!stored) throw new Error(`assistant message id ${turn.assistantMessageId} is taken`);
    }
    // A finished turn's usage replaces the last, even when unknown (null, never zero);
    // a stopped turn only records figures it actually got.
    if (outcome.status === "complete" || outcome.usage !== null) {
      await updateChatLastContext(sql, turn.chat.id, outcome.usage);
    }
    await updateStreamStatus(sql, turn.streamId, STREAM_STATUS[outcome.status]);
    return stored;
  });
}

/** After a failed persist: record at least that the stream failed, if the database lets us. */
export async function markStreamFailed(db: Database, streamId: string): Promise<void> {
  try {
    await inSqlTransaction(db, "markStreamFailed", (sql) => updateStreamStatus(sql, streamId, "failed"));
  } catch {
    // Already logged by dbCall; the client has its StreamFailed either way.
  }
}
