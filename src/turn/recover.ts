import type { UIMessage } from "ai";
import type { Database } from "../db/client.ts";
import type { LapsedTurn } from "../db/turn-lease.ts";
import { deleteStream, storeTurnOutcome, updateStreamStatus } from "../db/turn-queries.ts";
import { log } from "../log.ts";
import { assembleMessage, settledParts, showsAnything } from "./assemble.ts";
import { RUNNING_TTL_SECONDS } from "./redis-log-batch.ts";
import { startedOf } from "./settle-reads.ts";
import { ANSWER_DELETED } from "./turn-endings.ts";
import type { TurnEvent, TurnLog } from "./turn-log.ts";

export const OWNER_LOST = "The gateway instance running this turn stopped; the answer so far is kept.";
export const OWNER_LOST_NOTHING_KEPT =
  "The gateway instance running this turn stopped before any of the answer could be kept.";

/**
 * Ends a turn whose instance died: the assistant message stored FAILED with
 * every part the log holds (Redis: all that was streamed) or the last
 * checkpoint, whichever holds more; the Stream row failed; and, unless the log has the turn's end,
 * StreamFailed (`offline:chat`) appended for its readers.
 */
export async function recoverTurn(db: Database, turnLog: TurnLog, turn: LapsedTurn): Promise<void> {
  let readable = true;
  const logged = await turnLog.recover(turn.id).catch((error: unknown) => {
    // The log may hold every part streamed: the next sweep tries again, until the log
    // would be gone anyway (a running turn's Redis key lives an hour), then the checkpoint serves.
    if (Date.now() - new Date(turn.createdAt).getTime() < RUNNING_TTL_SECONDS * 1000) {
      throw new Error("the turn log could not be read; the turn is left for the next sweep", { cause: error });
    }
    log.warn("the turn log could not be read to recover a turn; using its checkpoint", { streamId: turn.id, error });
    readable = false;
    return null;
  });
  if (!turn.assistantMessageId || !turn.userId) {
    // A turn begun before assistant messages were stored as STREAMING: nothing to keep but its end.
    await updateStreamStatus(db.sql, turn.id, "failed");
    return;
  }
  if (!turn.answerExists) {
    // Deleted by its user while it ran, as a running turn whose answer is deleted ends
    // (turn-run.ts): nothing is kept, and the turn is forgotten, so resumeStream does
    // not replay the deleted exchange; readers still attached get its end.
    await deleteStream(db.sql, turn.id);
    if (readable && !logged?.ended) {
      const terminal: TurnEvent = {
        __typename: "StreamAborted",
        seq: (logged?.lastSeq ?? -1) + 1,
        reason: ANSWER_DELETED,
        partialMessage: null,
      };
      await turnLog.appendTerminal(turn.id, terminal);
    }
    log.info("a turn whose instance stopped had its answer deleted; forgotten", { streamId: turn.id });
    return;
  }
  // The log is every part streamed, unless Redis missed some (a write that failed, a Redis
  // that lost its data): then the checkpoint may hold more. The one that holds more is kept.
  const fromLog =
    logged && logged.chunks.length > 0
      ? (await assembleMessage(logged.chunks, { messageId: turn.assistantMessageId, interrupted: true })).parts
      : [];
  const fromCheckpoint = checkpointParts(turn.checkpoint);
  const parts = JSON.stringify(fromLog).length >= JSON.stringify(fromCheckpoint).length ? fromLog : fromCheckpoint;
  const stored = await storeTurnOutcome(db.sql, {
    chatId: turn.chatId,
    streamId: turn.id,
    streamStatus: "failed",
    messageId: turn.assistantMessageId,
    message: showsAnything(parts) ? { parts, status: "failed" } : null,
    context: null,
    onlyStreaming: true,
  });
  if (readable && !logged?.ended) {
    // The log lost the turn's events (the embedded mode's died with the process):
    // a reader from the start still gets StreamStarted first, as every stream begins.
    const started = logged ? undefined : startedOf(turn);
    // Its clients may hold seqs past lastSeq (sent, then the instance died before
    // the log got them, or the log died with it): the log hands this terminal to each as its next seq.
    const terminal: TurnEvent = {
      __typename: "StreamFailed",
      seq: started ? 1 : (logged?.lastSeq ?? -1) + 1,
      code: "offline:chat",
      reason: stored ? OWNER_LOST : OWNER_LOST_NOTHING_KEPT,
      partialMessage: stored,
    };
    await turnLog.appendTerminal(turn.id, terminal, started);
  }
  log.warn("recovered a turn whose instance stopped", {
    streamId: turn.id,
    chatId: turn.chatId,
    parts: parts.length,
    from: parts === fromLog && fromLog.length > 0 ? "turn log" : "checkpoint",
  });
}

// A checkpoint is the answer as it stood while running; the turn ended there, unfinished.
function checkpointParts(value: unknown): UIMessage["parts"] {
  return Array.isArray(value) ? settledParts(value as UIMessage["parts"], true) : [];
}
