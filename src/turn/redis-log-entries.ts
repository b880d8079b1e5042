import type { UIMessageChunk } from "ai";
import type { TurnEvent } from "./turn-log.ts";

// The Redis Stream of a turn (redis-turn-log.ts): event seq N is entry `N-1`;
// chunks that made no event follow it as `N-2`, `N-3`... So ids increase with
// the turn, a reader's cursor is an entry id, and "after seq N" is after `N-1`.

/** The stream of one turn; the braces make it a hash tag (Redis Cluster keeps a key's slot). */
export const turnKey = (streamId: string) => `chat-gateway:turn:{${streamId}}`;

/** The turn of a key of turnKey's; null for any other key. */
export const streamIdOfKey = (key: string) => /^chat-gateway:turn:\{(.+)\}$/.exec(key)?.[1] ?? null;

export const eventEntryId = (seq: number) => `${seq}-1`;

/**
 * The entry of a terminal event that a recovering instance writes for a turn
 * whose instance died (recover.ts): after every entry of any turn, so it
 * lies ahead of every reader's cursor whatever seq the dead instance had sent
 * (it sent events before Redis had them, and Redis never got the last few).
 */
export const RECOVERED_TERMINAL_ID = `${Number.MAX_SAFE_INTEGER}-1`;

/** The cursor for "events with seq > afterSeq" (-1: from the start). */
export const cursorAfter = (afterSeq: number) => (afterSeq < 0 ? "0-0" : eventEntryId(afterSeq));

export interface LogEntry {
  id: string;
  /** The event as JSON, when the entry has one. */
  e?: string;
  /** The streamer chunk as JSON, when the entry has one. */
  c?: string;
  /** An event stream's end (single-connection mode): the ids of its operations then, as JSON. */
  end?: string;
}

/** XRANGE/XREAD's `[id, [field, value, ...]]` pairs. */
export function parseEntries(raw: unknown): LogEntry[] {
  if (!Array.isArray(raw)) return [];
  return raw.map(([id, fields]: [string, string[]]) => {
    const entry: LogEntry = { id };
    for (let i = 0; i + 1 < fields.length; i += 2) {
      if (fields[i] === "e") entry.e = fields[i + 1];
      else if (fields[i] === "c") entry.c = fields[i + 1];
      else if (fields[i] === "end") entry.end = fields[i + 1];
    }
    return entry;
  });
}

export function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am - bm || as - bs;
}

/** An event read back from JSON: its messages' createdAt are Dates again, as the sender's were. */
export function parseEvent(text: string): TurnEvent {
  const event = JSON.parse(text) as TurnEvent & {
    message?: { createdAt: unknown };
    partialMessage?: { createdAt: unknown } | null;
  };
  for (const message of [event.message, event.partialMessage]) {
    if (message && typeof message.createdAt === "string") message.createdAt = new Date(message.createdAt);
  }
  return event;
}

// The delta events whose entry holds no chunk, and the chunk type each stands for.
const DELTA_CHUNK_TYPES: Partial<Record<TurnEvent["__typename"], "text-delta" | "reasoning-delta">> = {
  TextDelta: "text-delta",
  ReasoningDelta: "reasoning-delta",
};

/**
 * The chunk a text or reasoning delta event stands for: such an entry holds
 * the event alone, and recovery reads the chunk back from it. Most entries
 * of a turn are deltas; writing each twice doubled their share of Redis.
 */
export function impliedChunk(event: TurnEvent): UIMessageChunk | null {
  const type = DELTA_CHUNK_TYPES[event.__typename];
  if (!type) return null;
  const { partId, delta } = event as TurnEvent & { partId: string; delta: string };
  return { type, id: partId, delta };
}

/** True when `chunk` is exactly what impliedChunk gives back for `event` (no other keys, such as providerMetadata). */
export function isImplied(chunk: UIMessageChunk, event: TurnEvent | null): boolean {
  if (!event || chunk.type !== DELTA_CHUNK_TYPES[event.__typename]) return false;
  const { partId, delta } = event as TurnEvent & { partId: string; delta: string };
  const { id, delta: chunkDelta } = chunk as { id: string; delta: string };
  return Object.keys(chunk).length === 3 && id === partId && chunkDelta === delta;
}
