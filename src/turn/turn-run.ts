import { setImmediate as nextCheckPhase } from "node:timers/promises";
import type { UIMessageChunk } from "ai";
import type { Database } from "../db/client.ts";
import type { Message } from "../generated/prisma/client.ts";
import { log } from "../log.ts";
import { assembleMessage } from "./assemble.ts";
import { createChunkMapper } from "./chunk-events.ts";
import type { ChunkSource } from "./chunk-source.ts";
import type { ChatStreamEvent, Usage, WithoutSeq } from "./events.ts";
import { streamerErrorFailure, upstreamFailure } from "./failure.ts";
import { markStreamFailed, persistTurn, type TurnOutcome } from "./persist.ts";
import type { PreparedTurn } from "./prepare.ts";

export type TurnEvent = ChatStreamEvent<Message>;

/** Why a turn was stopped; carried as the abort signal's reason. */
export class TurnStopped extends Error {}

/**
 * One running turn: reads the chunk source, numbers the events, keeps them for
 * every subscriber, and stores the outcome. It runs on its own, so a stop, a
 * disconnect or a failure still ends with the turn stored and a terminal event.
 */
export class TurnRun {
  readonly turn: PreparedTurn;
  readonly events: TurnEvent[] = [];
  /** Settles once the outcome is stored (or failed to be) and the terminal event emitted. */
  readonly finished: Promise<void>;
  private readonly controller = new AbortController();
  private wake: (() => void)[] = [];
  /** The answer's store started at `finish` (see storeAtFinish). */
  private early: EarlyStore | null = null;
  private ended = false;

  constructor(db: Database, source: ChunkSource, turn: PreparedTurn) {
    this.turn = turn;
    this.finished = this.drive(db, source);
  }

  get done(): boolean {
    return this.ended;
  }

  /** Stops generation: the upstream request is aborted and the partial turn stored as ABORTED. */
  stop(reason: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new TurnStopped(reason));
  }

  /**
   * The events after `afterSeq`, then live ones until the terminal event, or
   * until `signal` aborts.
   */
  async *subscribe(afterSeq: number, signal?: AbortSignal): AsyncGenerator<TurnEvent> {
    let next = afterSeq + 1;
    const onAbort = () => this.notify();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        while (next < this.events.length) {
          yield this.events[next++];
          // A burst of chunks goes out in slices: each slice's writes leave at
          // the next check phase (src/http/coalesce-writes.ts), and the work
          // queued for that phase, the answer's store among it, runs between
          // slices instead of after the whole burst.
          if (next % EVENTS_PER_SLICE === 0) await nextCheckPhase();
        }
        if (this.ended) return;
        await new Promise<void>((resolve) => this.wake.push(resolve));
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
    }
  }

  private emit(draft: WithoutSeq<TurnEvent>): void {
    this.events.push({ ...draft, seq: this.events.length } as TurnEvent);
    this.notify();
  }

  private notify(): void {
    const waiting = this.wake;
    this.wake = [];
    for (const resolve of waiting) resolve();
  }

  private async drive(db: Database, source: ChunkSource): Promise<void> {
    const { turn } = this;
    const chunks = source.open(turn, this.controller.signal)[Symbol.asyncIterator]();
    // The streamer call goes out first; StreamStarted's trip through Yoga then
    // overlaps the streamer's work instead of delaying the request. undici
    // writes a request on a reused keep-alive socket in the next check phase
    // (its idle-socket validation), hence two turns of that phase.
    const first = chunks.next();
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
    try {
      await this.store(db, await this.read(db, chunks, first));
    } finally {
      this.end();
    }
  }

  /** Maps chunks to events until the stream ends, fails or is stopped, and judges how it ended. */
  private async read(
    db: Database,
    chunks: AsyncIterator<UIMessageChunk>,
    first: Promise<IteratorResult<UIMessageChunk>>,
  ) {
    const signal = this.controller.signal;
    const mapper = createChunkMapper();
    const received: UIMessageChunk[] = [];
    let failure: { code: string; reason: string } | null = null;
    let stopped: string | null = null;
    try {
      let shown = false;
      for (let next = await first; !next.done; next = await chunks.next()) {
        received.push(next.value);
        const drafts = mapper.map(next.value);
        for (const draft of drafts) this.emit(draft);
        // The socket's writes leave at the next check phase (src/http/coalesce-writes.ts),
        // and a read of many chunks is parsed in one run of microtasks: without
        // this pause, a burst's first delta waited for the whole burst (0.7–0.9 ms
        // for 200 deltas, measured).
        if (!shown && drafts.some(isDelta)) {
          shown = true;
          await nextCheckPhase();
        }
        if (next.value.type === "finish" && !this.early && mapper.report.errorText === null) {
          this.early = this.storeAtFinish(db, [...received], mapper.usage(this.turn.selectedChatModel));
        }
      }
    } catch (error) {
      if (signal.aborted) stopped = stopReason(signal.reason);
      else failure = upstreamFailure(error, this.turn);
    }
    if (!failure && !stopped) {
      const { report } = mapper;
      if (report.errorText !== null) failure = streamerErrorFailure(report.errorText, this.turn);
      else if (report.ended === "abort") stopped = report.abortReason ?? "The streamer aborted the turn.";
      else if (report.ended !== "finish") {
        failure = { code: "offline:chat", reason: "The streamer's stream ended before the turn finished." };
      }
    }
    return { mapper, received, failure, stopped };
  }

  /**
   * Stores the answer as soon as `finish` arrives, while the streamer's body
   * runs to its end: StreamFinished then waits for nothing more when no chunk
   * follows `finish` (a Chat SDK streamer may still send `data-usage`).
   */
  private storeAtFinish(db: Database, chunks: UIMessageChunk[], usage: Usage | null): EarlyStore {
    const stored = (async () => {
      // The events before `finish` are written first and leave at the next
      // check phase; folding the answer before that would hold a short
      // answer's first deltas back (about 0.3 ms, traced).
      await nextCheckPhase();
      const message = await assembleMessage(chunks, { messageId: this.turn.assistantMessageId });
      return persistTurn(db, this.turn, { status: "complete", message, usage });
    })();
    // Awaited in store(); a failure there only means storing again.
    stored.catch(() => {});
    return { count: chunks.length, stored };
  }

  /** Stores the outcome and emits the terminal event. */
  private async store(db: Database, { mapper, received, failure, stopped }: Awaited<ReturnType<TurnRun["read"]>>) {
    const status: TurnOutcome["status"] = failure ? "failed" : stopped ? "aborted" : "complete";
    const usage = mapper.usage(this.turn.selectedChatModel);
    try {
      const message = await this.persistOutcome(db, received, status, usage);
      if (failure) this.emit({ __typename: "StreamFailed", ...failure, partialMessage: message });
      else if (stopped) this.emit({ __typename: "StreamAborted", reason: stopped, partialMessage: message });
      else {
        const finishReason = mapper.report.finishReason ?? "stop";
        this.emit({ __typename: "StreamFinished", message: message as Message, usage, finishReason });
      }
    } catch (error) {
      log.error("turn could not be stored", { streamId: this.turn.streamId, error });
      await markStreamFailed(db, this.turn.streamId);
      this.emit({
        __typename: "StreamFailed",
        code: "bad_request:database",
        reason: "The answer could not be stored.",
        partialMessage: null,
      });
    }
  }

  /** The answer stored at `finish` if the turn ended there; otherwise the outcome, stored now (over it). */
  private async persistOutcome(
    db: Database,
    received: UIMessageChunk[],
    status: TurnOutcome["status"],
    usage: Usage | null,
  ): Promise<Message | null> {
    const early = this.early;
    const earlyMessage = early ? await early.stored.then((message) => message, () => undefined) : undefined;
    if (early && earlyMessage !== undefined && status === "complete" && received.length === early.count) {
      return earlyMessage;
    }
    const message = await assembleMessage(received, { messageId: this.turn.assistantMessageId });
    return persistTurn(db, this.turn, { status, message, usage }, { replacing: earlyMessage !== undefined });
  }

  private end(): void {
    this.ended = true;
    this.notify();
  }
}

type EarlyStore = { count: number; stored: Promise<Message | null> };

const EVENTS_PER_SLICE = 32;

/** The events that show the user the answer itself. */
function isDelta(draft: { __typename: string }): boolean {
  return draft.__typename === "TextDelta" || draft.__typename === "ReasoningDelta";
}

function stopReason(reason: unknown): string {
  return reason instanceof TurnStopped ? reason.message : "The turn was stopped.";
}
