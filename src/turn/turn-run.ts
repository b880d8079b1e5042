import { setImmediate as nextCheckPhase } from "node:timers/promises";
import { UIMessageStreamError, type UIMessage, type UIMessageChunk } from "ai";
import type { Database } from "../db/client.ts";
import { dbCall } from "../db/queryable.ts";
import { deleteStream } from "../db/turn-queries.ts";
import type { Message } from "../generated/prisma/client.ts";
import { isChatSDKError } from "../errors.ts";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import { assembleMessage } from "./assemble.ts";
import { checkpointWriter } from "./checkpoint.ts";
import { createChunkMapper, type ChunkMapper } from "./chunk-events.ts";
import type { ChunkSource } from "./chunk-source.ts";
import type { WithoutSeq } from "./events.ts";
import { misorderedFailure, streamEnding, upstreamFailure, type Ending } from "./failure.ts";
import { AnswerDeleted, persistTurn, type TurnOutcome } from "./persist.ts";
import type { PreparedTurn } from "./prepare.ts";
import { chunkBytes, ReceivedChunks } from "./received-chunks.ts";
import type { TurnEvent, TurnLog } from "./turn-log.ts";
import type { UnsavedTurns } from "./unsaved-turns.ts";
import { impliedFinishReason } from "./unanswered-tools.ts";
import {
  ANSWER_DELETED,
  answerGoes,
  DATABASE_LOST,
  stopReason,
  TOO_LONG,
  TOO_SLOW,
  TurnCutOff,
  TurnStopped,
  UNSAVED,
} from "./turn-endings.ts";

export type { TurnEvent } from "./turn-log.ts";

/** A turn's bounds (see TURN_* in README's configuration). */
export interface TurnSettings {
  /** Events and bytes received past which the turn ends as failed, its partial answer stored. */
  maxEvents: number;
  maxBytes: number;
  /** How often the partial answer is written into the STREAMING row; 0: never. */
  checkpointMs: number;
  /** How long a turn may run in all, past which it ends as failed, its partial answer stored; 0: no bound. */
  maxMs: number;
}

/**
 * One running turn: reads the chunk source, numbers the events into the turn
 * log (which every reader, here or on another instance, reads), checkpoints
 * the partial answer, and stores the outcome. It runs on its own: readers
 * come and go, and only a stop ends it early.
 */
export class TurnRun {
  readonly turn: PreparedTurn;
  /** Settles once the outcome is stored (or failed to be) and the terminal event logged; never rejects. */
  readonly finished: Promise<void>;
  private readonly controller = new AbortController();
  private readonly log: TurnLog;
  private readonly unsaved: UnsavedTurns | null;
  private seq = 0;
  private ended = false;
  private readonly startedAt = performance.now();

  /** `unsaved`: where an answer the database did not take waits to be stored again (none: it is only logged). */
  constructor(
    db: Database,
    source: ChunkSource,
    turnLog: TurnLog,
    settings: TurnSettings,
    turn: PreparedTurn,
    unsaved: UnsavedTurns | null = null,
  ) {
    this.turn = turn;
    this.log = turnLog;
    this.unsaved = unsaved;
    turnLog.open(turn.streamId);
    this.finished = this.drive(db, source, settings);
  }

  get done(): boolean {
    return this.ended;
  }

  /** Stops generation: the upstream request is aborted and the partial turn stored as ABORTED. */
  stop(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new TurnStopped(reason));
  }

  /** The events after `afterSeq`, then live ones until the terminal event, or until `signal` aborts. */
  subscribe(afterSeq: number, signal?: AbortSignal): AsyncGenerator<TurnEvent> {
    return this.log.read(this.turn.streamId, afterSeq, { signal, running: true });
  }

  private emit(draft: WithoutSeq<TurnEvent>, chunk?: UIMessageChunk): void {
    this.log.append(this.turn.streamId, { ...draft, seq: this.seq++ } as TurnEvent, chunk);
  }

  private async drive(db: Database, source: ChunkSource, settings: TurnSettings): Promise<void> {
    const { turn } = this;
    const chunks = source.open(turn, this.controller.signal)[Symbol.asyncIterator]();
    // Speed only: the streamer call goes out first; StreamStarted's trip through Yoga then
    // overlaps the streamer's work instead of delaying the request. undici
    // writes a request on a reused keep-alive socket in the next check phase
    // (its idle-socket validation), hence two turns of that phase.
    const first = chunks.next();
    // read() awaits it below; a stop in these two phases must not make it an unhandled rejection.
    first.catch(() => {});
    await nextCheckPhase();
    await nextCheckPhase();
    this.emit({
      __typename: "StreamStarted",
      streamId: turn.streamId,
      chatId: turn.chat.id,
      userMessageId: turn.userMessage.id,
      assistantMessageId: turn.assistantMessageId,
    });
    const cutOff = (failure: { code: string; reason: string }) => {
      if (!this.controller.signal.aborted) this.controller.abort(new TurnCutOff(failure));
    };
    const deadline = settings.maxMs > 0 ? setTimeout(() => cutOff(TOO_SLOW), settings.maxMs) : null;
    deadline?.unref();
    const received = new ReceivedChunks();
    const mapper = createChunkMapper();
    // A database that does not answer a checkpoint will not take the answer
    // either: the turn ends now (its client told within the database's
    // bounds) rather than streaming on into an answer it cannot store yet.
    // A turn whose answer was deleted meanwhile (its chat, or an edit past it) has no one to answer.
    const checkpoints = checkpointWriter(db, settings.checkpointMs).track(turn.assistantMessageId, received, {
      unavailable: () => cutOff(DATABASE_LOST),
      deleted: () => this.stop(ANSWER_DELETED),
    });
    try {
      const ending = await this.read(chunks, first, received, mapper, settings);
      await checkpoints.stop();
      await this.store(db, received, mapper, ending);
    } catch (error) {
      // read() and store() end every turn with a terminal event themselves; this is a bug's last resort.
      log.error("turn ended unexpectedly", { streamId: turn.streamId, error });
      this.emit({
        __typename: "StreamFailed",
        code: "offline:chat",
        reason: "The turn failed unexpectedly.",
        partialMessage: null,
      });
      metrics.turnEnded("failed", "offline:chat");
    } finally {
      if (deadline) clearTimeout(deadline);
      await checkpoints.stop();
      this.ended = true;
      this.log.end(turn.streamId);
    }
  }

  /** Maps chunks to events until the stream ends, fails, is stopped or outgrows its bounds, and judges how it ended. */
  private async read(
    chunks: AsyncIterator<UIMessageChunk>,
    first: Promise<IteratorResult<UIMessageChunk>>,
    received: ReceivedChunks,
    mapper: ChunkMapper,
    settings: TurnSettings,
  ): Promise<Ending> {
    const signal = this.controller.signal;
    let shown = false;
    try {
      for (let next = await first; !next.done; next = await chunks.next()) {
        const arrivedAt = performance.now();
        const bytes = chunkBytes(next.value);
        // A chunk that would take the turn past its bytes is neither sent nor kept.
        if (received.bytes + bytes > settings.maxBytes) return this.outgrown();
        received.push(next.value, bytes);
        const drafts = mapper.map(next.value);
        if (drafts.length === 0) this.log.note(this.turn.streamId, next.value);
        for (let i = 0; i < drafts.length; i++) this.emit(drafts[i], i === 0 ? next.value : undefined);
        metrics.delta(arrivedAt);
        if (this.seq > settings.maxEvents) return this.outgrown();
        // Speed only: the socket's writes leave at the next check phase (src/http/coalesce-writes.ts),
        // and a read of many chunks is parsed in one run of microtasks: without
        // this pause, a burst's first delta waited for the whole burst
        // (BENCHMARKS.md, "What was tried").
        if (!shown && drafts.some(isDelta)) {
          shown = true;
          metrics.firstDelta(this.startedAt);
          await nextCheckPhase();
        }
      }
    } catch (error) {
      if (signal.reason instanceof TurnCutOff) return { failure: signal.reason.failure, stopped: null };
      if (signal.aborted) return { failure: null, stopped: stopReason(signal.reason) };
      return { failure: upstreamFailure(error, this.turn), stopped: null };
    }
    return streamEnding(mapper.report, received.count, this.turn);
  }

  /** Past TURN_MAX_EVENTS or TURN_MAX_BYTES: the stream is cut, the answer so far kept. */
  private outgrown(): Ending {
    this.controller.abort(new TurnStopped("The answer outgrew the gateway's bound."));
    return { failure: { code: "offline:chat", reason: TOO_LONG }, stopped: null };
  }

  /**
   * Stores the outcome in place of the STREAMING row and logs the terminal
   * event. A store the database refuses ends the turn with StreamFailed at
   * once; the answer (FAILED, as the client was told) is kept and stored again
   * once the database takes it (unsaved-turns.ts).
   */
  private async store(db: Database, received: ReceivedChunks, mapper: ChunkMapper, ending: Ending) {
    const { stopped } = ending;
    let { failure } = ending;
    const usage = mapper.usage(this.turn.selectedChatModel);
    const cutOff = this.controller.signal.reason instanceof TurnCutOff;
    // A turn cut off by the database gets no quick retry: the database has just not answered.
    const databaseLost = cutOff && (this.controller.signal.reason as TurnCutOff).failure === DATABASE_LOST;
    let message: UIMessage | null = null;
    let stored: Message | null;
    try {
      let misordered: unknown = null;
      message = await assembleMessage(received.all, {
        messageId: this.turn.assistantMessageId,
        interrupted: failure !== null || stopped !== null,
        onError: (error) => void (UIMessageStreamError.isInstance(error) && (misordered ??= error)),
      });
      // A chunk out of the protocol's order (a delta for a part never started...) ended
      // the fold there: the stored answer stops at it, so the turn is malformed, not finished.
      if (misordered !== null && !failure && !stopped) failure = misorderedFailure(misordered, this.turn);
      const status: TurnOutcome["status"] = failure ? "failed" : stopped ? "aborted" : "complete";
      stored = await persistTurn(db, this.turn, { status, message, usage }, databaseLost ? { retryDelaysMs: [] } : {});
    } catch (error) {
      if (error instanceof AnswerDeleted) {
        // Deleted by its user: the turn ends as stopped, with nothing to keep, and is
        // forgotten, so a later resumeStream does not replay what was deleted.
        log.info("turn ended with its answer deleted", { streamId: this.turn.streamId });
        await dbCall("deleteStream", () => deleteStream(db.sql, this.turn.streamId)).catch((failure: unknown) =>
          log.warn("a turn whose answer was deleted could not be forgotten", { streamId: this.turn.streamId, failure }),
        );
        this.emit({ __typename: "StreamAborted", reason: ANSWER_DELETED, partialMessage: null });
        metrics.turnEnded("aborted");
        return;
      }
      log.error("turn could not be stored", { streamId: this.turn.streamId, error });
      // Only the database's refusals (down, stalled, a statement refused) may pass; a chat gone stays gone.
      if (message && isChatSDKError(error)) this.unsaved?.keep(this.turn, { status: "failed", message, usage });
      const ending =
        cutOff && failure
          ? failure
          : { code: isChatSDKError(error) ? error.code : "bad_request:database", reason: UNSAVED };
      this.emit({ __typename: "StreamFailed", ...ending, partialMessage: null });
      metrics.turnEnded("failed", ending.code);
      // A turn whose answer could not be stored counts as a database error whatever its code.
      if (ending.code !== "bad_request:database") metrics.databaseError();
      return;
    }
    if (failure) this.emit({ __typename: "StreamFailed", ...failure, partialMessage: stored });
    else if (stopped) {
      this.emit({ __typename: "StreamAborted", reason: stopped, partialMessage: answerGoes(stopped) ? null : stored });
    } else {
      const finishReason = mapper.report.finishReason ?? impliedFinishReason(message);
      this.emit({ __typename: "StreamFinished", message: stored as Message, usage, finishReason });
    }
    metrics.turnEnded(failure ? "failed" : stopped ? "aborted" : "finished", failure?.code);
  }
}

/** The events that show the user the answer itself. */
function isDelta(draft: { __typename: string }): boolean {
  return draft.__typename === "TextDelta" || draft.__typename === "ReasoningDelta";
}
