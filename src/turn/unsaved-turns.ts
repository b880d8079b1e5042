import type { Database } from "../db/client.ts";
import { isChatSDKError } from "../errors.ts";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import { persistTurn, type TurnOutcome } from "./persist.ts";
import type { PreparedTurn } from "./prepare.ts";

// The first retry of an unsaved answer, doubled after each failure up to the
// last: once the database answers again, the answer is stored within about
// MAX_DELAY_MS (README: "When the database is slow or down").
const FIRST_DELAY_MS = 500;
const MAX_DELAY_MS = 5_000;
// How long an owner keeps an answer the database has not taken: an outage
// of any length short of this loses nothing the client saw. Memory stays
// bounded by the turns that were running (no turn begins without the database).
export const UNSAVED_KEEP_MS = 24 * 60 * 60 * 1000;

interface Unsaved {
  turn: PreparedTurn;
  outcome: TurnOutcome;
  giveUpAt: number;
  timer: NodeJS.Timeout | null;
  trying: Promise<void> | null;
}

/**
 * Answers whose turn has ended but whose store the database refused (down,
 * stalled, or refusing the statement): their owner keeps every part the
 * client saw and stores them again with backoff until the database takes
 * them or `retentionMs` (UNSAVED_KEEP_MS) passes. Their Stream rows stay active, and their
 * leases renewed (`streamIds`), so no sweep stores less of them meanwhile;
 * should this instance die first, another recovers them from the turn log.
 */
export class UnsavedTurns {
  private readonly db: Database;
  private readonly retentionMs: number;
  private readonly waiting = new Map<string, Unsaved>();
  private closed = false;

  constructor(db: Database, { retentionMs }: { retentionMs: number }) {
    this.db = db;
    this.retentionMs = retentionMs;
  }

  /** The stream ids of the answers waiting to be stored. */
  get streamIds(): string[] {
    return [...this.waiting.keys()];
  }

  /** Keeps `outcome` and stores it once the database takes it. */
  keep(turn: PreparedTurn, outcome: TurnOutcome): void {
    if (this.closed) {
      log.error("a turn's answer could not be stored during shutdown; the lease sweep recovers it from the log", {
        streamId: turn.streamId,
      });
      return;
    }
    const unsaved: Unsaved = { turn, outcome, giveUpAt: Date.now() + this.retentionMs, timer: null, trying: null };
    this.waiting.set(turn.streamId, unsaved);
    metrics.unsavedAnswers(this.waiting.size);
    this.schedule(unsaved, FIRST_DELAY_MS);
  }

  /** On shutdown: one last try for each answer (each bounded by the database's own bounds), then no more. */
  async close(): Promise<void> {
    this.closed = true;
    const left = [...this.waiting.values()];
    for (const unsaved of left) if (unsaved.timer) clearTimeout(unsaved.timer);
    await Promise.all(left.map((unsaved) => unsaved.trying ?? this.attempt(unsaved)));
    for (const { turn } of this.waiting.values()) {
      log.error("a turn's answer is still unsaved at shutdown; the lease sweep recovers it from the log", {
        streamId: turn.streamId,
      });
    }
    this.waiting.clear();
    metrics.unsavedAnswers(0);
  }

  private schedule(unsaved: Unsaved, delayMs: number): void {
    unsaved.timer = setTimeout(async () => {
      unsaved.timer = null;
      unsaved.trying = this.attempt(unsaved);
      await unsaved.trying;
      unsaved.trying = null;
      if (this.closed || !this.waiting.has(unsaved.turn.streamId)) return;
      if (Date.now() >= unsaved.giveUpAt) {
        this.forget(unsaved.turn.streamId);
        log.error("a turn's answer could not be stored in time; it is left to the lease sweep", {
          streamId: unsaved.turn.streamId,
        });
        return;
      }
      this.schedule(unsaved, Math.min(delayMs * 2, MAX_DELAY_MS));
    }, delayMs);
    unsaved.timer.unref();
  }

  /** One try; the answer leaves the list once stored, or once retrying cannot help. */
  private async attempt(unsaved: Unsaved): Promise<void> {
    const { streamId } = unsaved.turn;
    try {
      await persistTurn(this.db, unsaved.turn, unsaved.outcome, { retryDelaysMs: [] });
      this.forget(streamId);
      log.info("stored a turn's answer once the database took it", { streamId });
    } catch (error) {
      if (isChatSDKError(error)) return;
      // Not the database's answer (the chat is gone): no retry brings it back.
      this.forget(streamId);
      log.warn("a turn's unsaved answer cannot be stored", { streamId, error });
    }
  }

  private forget(streamId: string): void {
    this.waiting.delete(streamId);
    metrics.unsavedAnswers(this.waiting.size);
  }
}
