import type { LogEntry } from "./redis-log-entries.ts";

/** One reader of a turn's Redis Stream, as the shared blocking reader (redis-log-followers.ts) feeds it. */
export class Follower {
  /** The id of the last entry received. */
  cursor: string;
  queue: LogEntry[] = [];
  /** Fed by the shared reader; otherwise it pulls with XRANGE. */
  live = false;
  wake: (() => void) | null = null;
  /** When it last got entries (or began). */
  heardAt = Date.now();
  readonly running: boolean;
  constructor(cursor: string, running: boolean) {
    this.cursor = cursor;
    this.running = running;
  }
}
