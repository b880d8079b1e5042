import type { Database } from "../db/client.ts";
import { endedTurns, type EndedTurn } from "../db/turn-queries.ts";
import { log } from "../log.ts";
import type { Usage } from "./events.ts";
import type { TurnEvent, TurnLog } from "./turn-log.ts";

const MAX_PER_SWEEP = 100;
// Quiet reads looked up per sweep: turns still running or relayed by their owner are passed over, not counted.
const MAX_LOOKED_UP = 1_000;

export const END_NOT_LOGGED = "This turn ended while its end could not be relayed; what was stored is attached.";

/**
 * Ends the reads still waiting on turns that are over: a turn's owner that
 * ended it while the shared log (Redis) could not take its terminal event,
 * then stopped before Redis came back, leaves its resumers on other
 * instances waiting for an end no one will write. For the turns read here
 * with nothing new for a lease whose Stream row is no longer active and
 * whose owner no longer renews it (while it does, it holds the events Redis
 * missed and their end, and writes them once Redis takes them), the
 * terminal event is written from what the database stored (once the log
 * holds its end, any later writer's copy is never read).
 */
export async function settleQuietReads(db: Database, turnLog: TurnLog, leaseSeconds: number): Promise<void> {
  const quiet = turnLog.quietReads?.(leaseSeconds * 1000).slice(0, MAX_LOOKED_UP) ?? [];
  if (quiet.length === 0) return;
  const settling = (await endedTurns(db.sql, quiet, leaseSeconds)).filter((turn) => !turn.relaying);
  for (const turn of settling.slice(0, MAX_PER_SWEEP)) {
    const logged = await turnLog.recover(turn.id);
    if (logged?.ended) continue;
    // The log holds nothing of it: a reader from the start still gets StreamStarted first.
    const started = logged ? undefined : startedOf(turn);
    const seq = started ? 1 : (logged?.lastSeq ?? -1) + 1;
    await turnLog.appendTerminal(turn.id, storedTerminal(turn, seq), started);
    log.warn("ended the reads of a turn whose end was never logged", { streamId: turn.id, status: turn.status });
  }
}

/** What `storedEnd` answers while the turn's owner still holds its end for the log: read on, and wait for it. */
export const RELAYING = "relaying";

/**
 * The end of a read of an ended turn that found no terminal event in the log
 * (its owner could not write it, and stopped): written to the log from what
 * the database stored, for every reader, and returned as the seq after `held`
 * for this one. Null when the log holds nothing of the turn (it ended longer
 * ago than the retention) or already holds its end.
 */
export async function storedEnd(
  db: Database,
  turnLog: TurnLog,
  streamId: string,
  held: number,
  leaseSeconds: number,
): Promise<TurnEvent | typeof RELAYING | null> {
  const logged = await turnLog.recover(streamId);
  if (!logged || logged.ended) return null;
  const [turn] = await endedTurns(db.sql, [streamId], leaseSeconds);
  if (!turn) return null;
  if (turn.relaying) return RELAYING;
  const terminal = storedTerminal(turn, logged.lastSeq + 1);
  await turnLog.appendTerminal(streamId, terminal);
  log.warn("ended a read of a turn whose end was never logged", { streamId, status: turn.status });
  return terminal.seq > held ? terminal : { ...terminal, seq: held + 1 };
}

/**
 * The StreamStarted of a turn the log holds nothing of, from its stored ids, so a
 * reader from the start gets it first, as every stream begins; none without them.
 */
export function startedOf(turn: {
  id: string;
  chatId: string;
  userMessageId: string | null;
  assistantMessageId: string | null;
}): TurnEvent | undefined {
  if (!turn.userMessageId || !turn.assistantMessageId) return undefined;
  return {
    __typename: "StreamStarted",
    seq: 0,
    streamId: turn.id,
    chatId: turn.chatId,
    userMessageId: turn.userMessageId,
    assistantMessageId: turn.assistantMessageId,
  };
}

/** The terminal event of an ended turn, from what the database holds of it. */
export function storedTerminal(turn: EndedTurn, seq: number): TurnEvent {
  const { message } = turn;
  if (turn.status === "finished" && message) {
    // The streamer's finish reason is not stored.
    return {
      __typename: "StreamFinished",
      seq,
      message,
      usage: (turn.usage as Usage | null) ?? null,
      finishReason: "unknown",
    };
  }
  if (turn.status === "aborted")
    return { __typename: "StreamAborted", seq, reason: END_NOT_LOGGED, partialMessage: message };
  return { __typename: "StreamFailed", seq, code: "offline:chat", reason: END_NOT_LOGGED, partialMessage: message };
}
