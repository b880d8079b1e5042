import type { UIMessage } from "ai";
import { updateChatLastContextById } from "../db/chats.ts";
import type { Database } from "../db/client.ts";
import { saveMessages } from "../db/messages.ts";
import { inTransaction } from "../db/queryable.ts";
import { updateStreamStatusById } from "../db/streams.ts";
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
  return inTransaction(db.prisma, "persistTurn", async (tx) => {
    let stored: Message | null = null;
    if (outcome.status === "complete" || outcome.message.parts.length > 0) {
      [stored] = await saveMessages(tx, [
        {
          id: turn.assistantMessageId,
          chatId: turn.chat.id,
          userId: turn.user.id,
          role: "assistant",
          parts: outcome.message.parts as never,
          status: outcome.status,
        },
      ]);
    }
    // A finished turn's usage replaces the last, even when unknown (null, never zero);
    // a stopped turn only records figures it actually got.
    if (outcome.status === "complete" || outcome.usage !== null) {
      await updateChatLastContextById(tx, turn.chat.id, outcome.usage as never);
    }
    await updateStreamStatusById(tx, turn.streamId, STREAM_STATUS[outcome.status]);
    return stored;
  });
}

/** After a failed persist: record at least that the stream failed, if the database lets us. */
export async function markStreamFailed(db: Database, streamId: string): Promise<void> {
  try {
    await updateStreamStatusById(db.prisma, streamId, "failed");
  } catch {
    // Already logged by dbCall; the client has its StreamFailed either way.
  }
}
