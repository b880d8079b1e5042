import type { UIMessage } from "ai";
import type { Database } from "../db/client.ts";
import type { LapsedTurn } from "../db/turn-lease.ts";
import { storeTurnOutcome, updateStreamStatus } from "../db/turn-queries.ts";
import { log } from "../log.ts";
import { assembleMessage, settledParts } from "./assemble.ts";
import type { TurnLog } from "./turn-log.ts";

export const OWNER_LOST = "The gateway instance running this turn stopped; the answer so far is kept.";

/**
 * Ends a turn whose instance died: the assistant message stored FAILED with
 * every part the log holds (Redis: all that was streamed), else the last
 * checkpoint; the Stream row failed; and, unless the log has the turn's end,
 * StreamFailed (`offline:chat`) appended for its readers.
 */
export async function recoverTurn(db: Database, turnLog: TurnLog, turn: LapsedTurn): Promise<void> {
  let readable = true;
  const logged = await turnLog.recover(turn.id).catch((error: unknown) => {
    log.warn("the turn log could not be read to recover a turn; using its checkpoint", { streamId: turn.id, error });
    readable = false;
    return null;
  });
  if (!turn.assistantMessageId || !turn.userId) {
    // A turn begun before assistant messages were stored as STREAMING: nothing to keep but its end.
    await updateStreamStatus(db.sql, turn.id, "failed");
    return;
  }
  const parts =
    logged && logged.chunks.length > 0
      ? (await assembleMessage(logged.chunks, { messageId: turn.assistantMessageId })).parts
      : checkpointParts(turn.checkpoint);
  const stored = await storeTurnOutcome(db.sql, {
    chatId: turn.chatId,
    streamId: turn.id,
    streamStatus: "failed",
    messageId: turn.assistantMessageId,
    message: parts.length > 0 ? { userId: turn.userId, parts, status: "failed" } : null,
    context: null,
    onlyStreaming: true,
  });
  if (readable && !logged?.ended) {
    // Its clients may hold seqs past lastSeq (sent, then the instance died before
    // the log got them, or the log died with it): the log hands this terminal to each as its next seq.
    await turnLog.appendTerminal(turn.id, {
      __typename: "StreamFailed",
      seq: (logged?.lastSeq ?? -1) + 1,
      code: "offline:chat",
      reason: OWNER_LOST,
      partialMessage: stored,
    });
  }
  log.warn("recovered a turn whose instance stopped", { streamId: turn.id, chatId: turn.chatId, parts: parts.length });
}

// A checkpoint is the answer as it stood while running; the turn ended there, unfinished.
function checkpointParts(value: unknown): UIMessage["parts"] {
  return Array.isArray(value) ? settledParts(value as UIMessage["parts"], true) : [];
}
