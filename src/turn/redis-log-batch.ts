import type { UIMessageChunk } from "ai";
import type { EventWindow } from "./event-window.ts";
import type { EntryWrite } from "./redis-log-append.ts";
import { eventEntryId, isImplied, turnKey } from "./redis-log-entries.ts";
import type { TurnEvent } from "./turn-log.ts";

// A running turn's log lives this long at most (its owner lease ends it far sooner).
export const RUNNING_TTL_SECONDS = 60 * 60;

export interface LocalTurn {
  window: EventWindow;
  lastSeq: number;
  /** The sub-id of the last chunk-only entry after lastSeq's event. */
  sub: number;
  expiring: boolean;
  /** A write failed: Redis misses events from here on, until the terminal one brings them (backfill). */
  degraded: boolean;
  /** The seq of the last event Redis took before any write failed. */
  writtenThrough: number;
  /** Its entries queued or being written: an ended turn is let go once none is. */
  unwritten: number;
}

export interface Pending {
  streamId: string;
  id: string;
  /** Serialised at the flush, off the path of the event to its local readers. */
  event: TurnEvent | null;
  chunk: UIMessageChunk | null;
  terminal: boolean;
}

/**
 * A flush's entries as Redis writes (redis-turn-log.ts), with the entry each
 * write is of and the keys to expire: a degraded turn (a write failed) gets
 * only its terminal entry, after the events Redis missed, which its window
 * kept, so a replay elsewhere has no gap (their chunks are not kept: a
 * recovery falls back on the checkpoint for them).
 */
export function batchWrites(
  batch: readonly Pending[],
  local: ReadonlyMap<string, LocalTurn>,
  retentionSeconds: number,
) {
  const writes: EntryWrite[] = [];
  const written: Pending[] = [];
  const expiries = new Map<string, number>();
  for (const entry of batch) {
    const turn = local.get(entry.streamId);
    if (turn?.degraded && !entry.terminal) continue;
    const key = turnKey(entry.streamId);
    if (turn?.degraded && entry.event) {
      for (const missed of turn.window.between(turn.writtenThrough, entry.event.seq)) {
        const id = eventEntryId(missed.seq);
        writes.push({ key, id, event: JSON.stringify(missed), chunk: "" });
        written.push({ streamId: entry.streamId, id, event: missed, chunk: null, terminal: false });
      }
    }
    const event = entry.event ? JSON.stringify(entry.event) : "";
    const chunk = entry.chunk && !isImplied(entry.chunk, entry.event) ? JSON.stringify(entry.chunk) : "";
    writes.push({ key, id: entry.id, event, chunk });
    written.push(entry);
    if (entry.terminal) expiries.set(key, retentionSeconds);
    else if (turn && !turn.expiring) {
      turn.expiring = true;
      expiries.set(key, RUNNING_TTL_SECONDS);
    }
  }
  return { writes, written, expiries };
}
