import type { UIMessageChunk } from "ai";
import type { Database } from "../db/client.ts";
import type { Message } from "../generated/prisma/client.ts";
import { log } from "../log.ts";
import { assembleMessage } from "./assemble.ts";
import { createChunkMapper } from "./chunk-events.ts";
import type { ChunkSource } from "./chunk-source.ts";
import type { ChatStreamEvent, WithoutSeq } from "./events.ts";
import { markStreamFailed, persistTurn, type TurnOutcome } from "./persist.ts";
import type { PreparedTurn } from "./prepare.ts";
import { UpstreamError } from "./upstream.ts";

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
        while (next < this.events.length) yield this.events[next++];
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
      await this.store(db, await this.read(chunks, first));
    } finally {
      this.end();
    }
  }

  /** Maps chunks to events until the stream ends, fails or is stopped, and judges how it ended. */
  private async read(chunks: AsyncIterator<UIMessageChunk>, first: Promise<IteratorResult<UIMessageChunk>>) {
    const signal = this.controller.signal;
    const mapper = createChunkMapper();
    const received: UIMessageChunk[] = [];
    let failure: { code: string; reason: string } | null = null;
    let stopped: string | null = null;
    try {
      for (let next = await first; !next.done; next = await chunks.next()) {
        received.push(next.value);
        for (const draft of mapper.map(next.value)) this.emit(draft);
      }
    } catch (error) {
      if (signal.aborted) stopped = stopReason(signal.reason);
      else failure = upstreamFailure(error, this.turn);
    }
    if (!failure && !stopped) {
      const { report } = mapper;
      if (report.errorText !== null) failure = { code: "offline:chat", reason: report.errorText };
      else if (report.ended === "abort") stopped = report.abortReason ?? "The streamer aborted the turn.";
      else if (report.ended !== "finish") {
        failure = { code: "offline:chat", reason: "The streamer's stream ended before the turn finished." };
      }
    }
    return { mapper, received, failure, stopped };
  }

  /** Stores the outcome and emits the terminal event. */
  private async store(db: Database, { mapper, received, failure, stopped }: Awaited<ReturnType<TurnRun["read"]>>) {
    const outcome: TurnOutcome = {
      status: failure ? "failed" : stopped ? "aborted" : "complete",
      message: await assembleMessage(received, { messageId: this.turn.assistantMessageId }),
      usage: mapper.usage(this.turn.selectedChatModel),
    };
    try {
      const message = await persistTurn(db, this.turn, outcome);
      if (failure) this.emit({ __typename: "StreamFailed", ...failure, partialMessage: message });
      else if (stopped) this.emit({ __typename: "StreamAborted", reason: stopped, partialMessage: message });
      else {
        const finishReason = mapper.report.finishReason ?? "stop";
        this.emit({ __typename: "StreamFinished", message: message as Message, usage: outcome.usage, finishReason });
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

  private end(): void {
    this.ended = true;
    this.notify();
  }
}

const nextCheckPhase = () => new Promise<void>((resolve) => setImmediate(resolve));

function stopReason(reason: unknown): string {
  return reason instanceof TurnStopped ? reason.message : "The turn was stopped.";
}

function upstreamFailure(error: unknown, turn: PreparedTurn): { code: string; reason: string } {
  if (error instanceof UpstreamError) {
    log.warn("streamer failed", { streamId: turn.streamId, kind: error.kind, status: error.status, reason: error.reason });
    return { code: error.code, reason: error.reason };
  }
  log.error("turn stream failed", { streamId: turn.streamId, error });
  return { code: "offline:chat", reason: "The model's stream failed unexpectedly." };
}
