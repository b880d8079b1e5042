// Why a turn ends before its streamer's end, as the abort signal's reason,
// and the fixed sentences its client is told (StreamFailed.reason).

/** Stopped (stopStream, deleteChat, a drain, a bound); the partial turn is stored as ABORTED. */
export class TurnStopped extends Error {}

/** Ended early as failed (the database stopped answering, the turn ran too long). */
export class TurnCutOff extends Error {
  readonly failure: { code: string; reason: string };
  constructor(failure: { code: string; reason: string }) {
    super(failure.reason);
    this.failure = failure;
  }
}

export function stopReason(reason: unknown): string {
  return reason instanceof TurnStopped ? reason.message : "The turn was stopped.";
}

// A streamer that keeps its stream open (keep-alive comments, a trickle)
// must not hold a turn, its memory and its slot forever.
export const TOO_SLOW = {
  code: "offline:chat",
  reason: "The answer took longer than the gateway allows for one turn; what arrived is kept.",
};

// offline:chat, as every request gets while the database does not answer: try again shortly.
export const DATABASE_LOST = {
  code: "offline:chat",
  reason:
    "The database stopped answering, so the answer was cut short; what arrived is kept and stored once it answers.",
};

export const UNSAVED =
  "The answer could not be stored yet; what arrived is kept and stored once the database takes it.";

export const TOO_LONG = "The answer grew past the gateway's bound for one turn; what arrived is kept.";

export const ANSWER_DELETED =
  "The answer was deleted (its chat deleted, or the conversation edited) while it was being generated.";

// Stops whose answer goes with what stopped it: the chat deleted, or the
// conversation edited back past the turn. Their StreamAborted carries no
// partialMessage: the answer is stored, then deleted with the rest.
export const CHAT_DELETED = "The chat was deleted.";
export const EDITED = "The conversation was edited.";
const ANSWER_GOES = new Set([CHAT_DELETED, EDITED]);

/** Whether a stop's answer goes with the chat or the edit that stopped it (see CHAT_DELETED, EDITED). */
export function answerGoes(stopped: string): boolean {
  return ANSWER_GOES.has(stopped);
}
