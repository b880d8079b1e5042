import type { UIMessageChunk } from "ai";
import type { Message } from "../generated/prisma/client.ts";
import type { ChatStreamEvent } from "./events.ts";

export type TurnEvent = ChatStreamEvent<Message>;

/**
 * The events of every turn, each with its `seq`, for whoever reads them: the
 * sender, resumers on any instance, and an instance recovering a turn whose
 * owner died. With REDIS_URL a Redis Stream per turn (redis-turn-log.ts);
 * without it, this process's memory (memory-turn-log.ts).
 */
export interface TurnLog {
  /** Makes room for a new turn run here; its events follow with append. */
  open(streamId: string): void;
  /**
   * The turn's next event, with the streamer chunk it came from (for a
   * recovering instance to fold the partial answer). Never waits: a shared
   * log is written in batches after the event has gone to local readers.
   */
  append(streamId: string, event: TurnEvent, chunk?: UIMessageChunk): void;
  /** A chunk that made no event (text-start, finish, a file part...), kept for the fold. */
  note(streamId: string, chunk: UIMessageChunk): void;
  /** After the terminal event: the turn stays readable for the retention, then goes. */
  end(streamId: string): void;
  /**
   * The events with `seq > afterSeq`, in order, then live ones until the
   * terminal event. `running` says the turn is still active in the database:
   * otherwise a log with nothing more of the turn ends the read instead of waiting.
   */
  read(streamId: string, afterSeq: number, options: ReadOptions): AsyncGenerator<TurnEvent>;
  /**
   * The running turns some reader here has waited on for `quietMs` with
   * nothing new (a shared log only: a turn's owner may have ended it while
   * the log could not take its end; see settle-reads.ts).
   */
  quietReads?(quietMs: number): string[];
  /**
   * Ended turns whose end this instance holds for a shared log that did not
   * take it yet (it writes it once the log answers): their owner lease is
   * renewed meanwhile, so other instances wait for it rather than end their
   * reads from the database (settle-reads.ts).
   */
  relaying?(): string[];
  /** What a recovering instance needs; null when the log holds nothing of the turn. */
  recover(streamId: string): Promise<LoggedTurn | null>;
  /**
   * A recovering instance's terminal event (seq: the logged last + 1), read
   * after every other event of the turn. A reader holding that seq already
   * (the dead instance sent events Redis never got) gets it as its next seq.
   * `started`: the turn's StreamStarted (seq 0) when the log has none of its
   * events, so a reader from the start gets it first, as every stream begins.
   */
  appendTerminal(streamId: string, event: TurnEvent, started?: TurnEvent): Promise<void>;
  shutdown(): Promise<void>;
}

export interface ReadOptions {
  signal?: AbortSignal;
  running: boolean;
}

export interface LoggedTurn {
  /** Every chunk logged, in order. */
  chunks: UIMessageChunk[];
  /** The seq of the last logged event. */
  lastSeq: number;
  /** True when that event is terminal. */
  ended: boolean;
}

export const TERMINAL_EVENTS = new Set(["StreamFinished", "StreamAborted", "StreamFailed"]);

export function isTerminal(event: TurnEvent): boolean {
  return TERMINAL_EVENTS.has(event.__typename);
}

/** A reader that fell further behind than the log keeps for it; it may resume from `seq`. */
export class ReaderFellBehind extends Error {
  readonly seq: number;
  constructor(seq: number) {
    super(`The reader fell behind the turn after seq ${seq}.`);
    this.seq = seq;
  }
}
