import { setTimeout as sleep } from "node:timers/promises";
import type { UIMessage } from "ai";
import type { Database } from "../db/client.ts";
import { dbCall } from "../db/queryable.ts";
import { storeTurnOutcome } from "../db/turn-queries.ts";
import { isChatSDKError } from "../errors.ts";
import type { Message, MessageStatus, StreamStatus } from "../generated/prisma/client.ts";
import { showsAnything } from "./assemble.ts";
import type { Usage } from "./events.ts";
import type { PreparedTurn } from "./prepare.ts";

/** The turn's assistant message was deleted while it ran (deleteChat, or deleteTrailingMessages past it): not stored. */
export class AnswerDeleted extends Error {
  constructor(chatId: string) {
    super(`the answer's message in chat ${chatId} was deleted while the turn ran; it was not stored`);
  }
}

export interface TurnOutcome {
  status: Exclude<MessageStatus, "streaming">;
  message: UIMessage;
  usage: Usage | null;
}

export const STREAM_STATUS: Record<TurnOutcome["status"], StreamStatus> = {
  complete: "finished",
  aborted: "aborted",
  failed: "failed",
};

// A database that fails at the end of a turn gets this one quick further try
// (a blip) before the client is told StreamFailed; the answer is then kept
// and stored later (unsaved-turns.ts), so the client does not wait for it.
const RETRY_DELAYS_MS = [250];

/**
 * Step 5 of a turn, in one statement: the assistant message in place of the
 * STREAMING row (a finished turn always; a stopped or failed one when
 * it shows anything, the row removed otherwise), the usage into
 * Chat.lastContext and the Stream row's status. Returns the stored message.
 */
export async function persistTurn(
  db: Database,
  turn: PreparedTurn,
  outcome: TurnOutcome,
  { retryDelaysMs = RETRY_DELAYS_MS }: { retryDelaysMs?: number[] } = {},
): Promise<Message | null> {
  const keep = outcome.status === "complete" || showsAnything(outcome.message.parts);
  for (let attempt = 0; ; attempt++) {
    try {
      const stored = await dbCall("persistTurn", () =>
        storeTurnOutcome(db.sql, {
          chatId: turn.chat.id,
          streamId: turn.streamId,
          streamStatus: STREAM_STATUS[outcome.status],
          messageId: turn.assistantMessageId,
          message: keep ? { parts: outcome.message.parts, status: outcome.status } : null,
          // A finished turn's usage replaces the last, even when unknown (null, never zero);
          // a stopped turn only records figures it actually got.
          context: outcome.status === "complete" || outcome.usage !== null ? { value: outcome.usage } : null,
        }),
      );
      if (keep && !stored) throw new AnswerDeleted(turn.chat.id);
      return stored;
    } catch (error) {
      const retry = retryDelaysMs[attempt];
      if (retry === undefined || !isChatSDKError(error)) throw error;
      await sleep(retry);
    }
  }
}
