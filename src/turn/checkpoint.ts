import { setImmediate as nextCheckPhase } from "node:timers/promises";
import type { Database } from "../db/client.ts";
import { checkpointParts } from "../db/turn-queries.ts";
import { isDatabaseUnavailable } from "../db/unavailable.ts";
import { log } from "../log.ts";
import { assembleMessage } from "./assemble.ts";
import type { ReceivedChunks } from "./received-chunks.ts";

// How often due checkpoints are gathered; a turn's own period is `everyMs`.
const TICK_MS = 100;
// Rows per statement, so one statement stays small whatever the number of turns.
const ROWS_PER_STATEMENT = 250;
// Speed only: the folds of one tick yield to the event loop this often, so deltas are not held behind them.
const FOLDS_PER_PAUSE = 16;

interface Tracked {
  messageId: string;
  received: ReceivedChunks;
  unavailable: () => void;
  deleted: () => void;
  /** `received.count` at the last write. */
  written: number;
  dueAt: number;
  /** The write this turn is in, while it runs. */
  writing: Promise<void> | null;
}

/**
 * Writes the partial answers of the running turns into their STREAMING rows,
 * each turn every `everyMs` when chunks arrived since its last write: readers
 * of the chat see the turn grow, and the embedded mode recovers a crashed turn
 * from it. The turns due at one tick go in one statement, so a thousand running
 * turns cost a few statements a second, not hundreds (BENCHMARKS.md), and their
 * due times stay spread as the turns started. A timer, so never on the
 * first-delta path. A write that finds the database down or not answering
 * within its bounds calls each of its turns' `unavailable` (the turn then
 * ends, see turn-run.ts); one that finds a turn's row gone (its chat
 * deleted, or the conversation edited past it) calls its `deleted`; other
 * failures are only logged.
 */
export class CheckpointWriter {
  private readonly db: Database;
  private readonly everyMs: number;
  private readonly tracked = new Map<string, Tracked>();
  private timer: NodeJS.Timeout | null = null;
  private ticking = false;

  constructor(db: Database, everyMs: number) {
    this.db = db;
    this.everyMs = everyMs;
  }

  /** Checkpoints the turn's answer until `stop`, which waits for a write under way so the final store lands after it. */
  track(
    messageId: string,
    received: ReceivedChunks,
    { unavailable = () => {}, deleted = () => {} }: { unavailable?: () => void; deleted?: () => void } = {},
  ): { stop(): Promise<void> } {
    if (this.everyMs <= 0) return { stop: async () => {} };
    const entry: Tracked = {
      messageId,
      received,
      unavailable,
      deleted,
      written: 0,
      dueAt: Date.now() + this.everyMs,
      writing: null,
    };
    this.tracked.set(messageId, entry);
    this.timer ??= setInterval(() => void this.tick(), Math.min(TICK_MS, this.everyMs));
    this.timer.unref();
    return {
      stop: async () => {
        if (this.tracked.get(messageId) === entry) this.tracked.delete(messageId);
        if (this.tracked.size === 0 && this.timer) {
          clearInterval(this.timer);
          this.timer = null;
        }
        await entry.writing;
      },
    };
  }

  private async tick(): Promise<void> {
    // One tick at a time: a slow database delays the next tick's turns instead of piling statements up.
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      const due: Tracked[] = [];
      for (const entry of this.tracked.values()) {
        if (entry.dueAt > now) continue;
        entry.dueAt = now + this.everyMs;
        if (entry.received.count !== entry.written) due.push(entry);
      }
      for (let i = 0; i < due.length; i += ROWS_PER_STATEMENT) await this.write(due.slice(i, i + ROWS_PER_STATEMENT));
    } finally {
      this.ticking = false;
    }
  }

  private write(batch: Tracked[]): Promise<void> {
    const writing = this.fold(batch).then(async (folded) => {
      try {
        const gone = new Set(
          await checkpointParts(
            this.db.sql,
            folded.map(({ entry, parts }) => ({ id: entry.messageId, parts })),
          ),
        );
        for (const { entry } of folded) if (gone.has(entry.messageId)) entry.deleted();
      } catch (error) {
        log.warn("turn checkpoint failed", { messageIds: folded.map(({ entry }) => entry.messageId), error });
        if (isDatabaseUnavailable(error)) for (const { entry } of folded) entry.unavailable();
      }
    });
    for (const entry of batch) entry.writing = writing;
    return writing.finally(() => {
      for (const entry of batch) if (entry.writing === writing) entry.writing = null;
    });
  }

  private async fold(batch: Tracked[]): Promise<{ entry: Tracked; parts: unknown }[]> {
    const rows: { entry: Tracked; parts: unknown }[] = [];
    for (const [i, entry] of batch.entries()) {
      if (i > 0 && i % FOLDS_PER_PAUSE === 0) await nextCheckPhase();
      // Stopped meanwhile: its final store is its own.
      if (this.tracked.get(entry.messageId) !== entry) continue;
      entry.written = entry.received.count;
      try {
        const { parts } = await assembleMessage(entry.received.all, { messageId: entry.messageId, running: true });
        rows.push({ entry, parts });
      } catch (error) {
        log.warn("turn checkpoint failed", { messageId: entry.messageId, error });
      }
    }
    return rows;
  }
}

const writers = new WeakMap<Database, Map<number, CheckpointWriter>>();

/** The database's checkpoint writer for that period: every turn of the process shares it. */
export function checkpointWriter(db: Database, everyMs: number): CheckpointWriter {
  let byPeriod = writers.get(db);
  if (!byPeriod) writers.set(db, (byPeriod = new Map()));
  let writer = byPeriod.get(everyMs);
  if (!writer) byPeriod.set(everyMs, (writer = new CheckpointWriter(db, everyMs)));
  return writer;
}
