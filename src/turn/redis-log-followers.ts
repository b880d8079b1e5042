import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { log } from "../log.ts";
import {
  compareIds,
  cursorAfter,
  parseEntries,
  parseEvent,
  RECOVERED_TERMINAL_ID,
  type LogEntry,
} from "./redis-log-entries.ts";
import { Follower } from "./redis-log-follower.ts";
import { isTerminal, type TurnEvent } from "./turn-log.ts";

const PAGE = 512;
const BLOCK_MS = 5_000;
// Entries a live reader may have waiting; past it the reader stops being fed
// and pulls from Redis at its own pace, so one that does not read pins no more.
const MAX_QUEUED = 1_024;
// How long a reader of an ended turn waits for its terminal event to be logged.
const ENDED_GRACE_MS = 2_000;
// How soon an UNBLOCK that found no blocked read is tried again.
const UNBLOCK_RETRY_MS = 50;

/**
 * Every reader of turns logged in Redis, on one blocking connection per
 * instance: each reader first pulls what it missed (XRANGE from its cursor),
 * then the shared XREAD BLOCK, over every key being followed from the
 * lowest cursor of its readers, feeds it. Cursors are entry ids, which only
 * increase, so the handover from pulling to being fed has no gap and no duplicate.
 * Single-connection mode's event streams (src/http/single-connection/) read
 * their Redis Streams through an instance of their own (entries()).
 */
export class RedisLogFollowers {
  private readonly byKey = new Map<string, Set<Follower>>();
  private readonly blocking: Redis;
  private readonly commands: Redis;
  /**
   * The CLIENT ID of the blocking connection as it is now; null from its close
   * until its next connection answers: a reconnected connection has a new id,
   * and an old one may be another client's (after a Redis restart, ids start over).
   */
  private blockingId: number | null = null;
  /** Counts the blocking connection's connections, so a late CLIENT ID reply of an old one is dropped. */
  private connection = 0;
  private blocked = false;
  /** Counts the blocking reads, so an UNBLOCK retry knows its read is still the one blocked. */
  private reads = 0;
  /** The blocked read should end (a kick came while it was blocked). */
  private unblockWanted = false;
  private unblocking = false;
  private idle: (() => void) | null = null;
  private closed = false;
  private loop: Promise<void> = Promise.resolve();

  constructor(blocking: Redis, commands: Redis) {
    this.blocking = blocking;
    this.commands = commands;
  }

  async start(): Promise<void> {
    // CLIENT is a handshake command in ioredis: asked on "connect", it is written
    // before the commands a reconnection resends (the XREAD cut by the drop).
    this.blocking.on("connect", () => void this.learnBlockingId());
    this.blocking.on("close", () => {
      this.connection++;
      this.blockingId = null;
    });
    await this.learnBlockingId();
    this.loop = this.run();
  }

  private async learnBlockingId(): Promise<void> {
    const connection = ++this.connection;
    this.blockingId = null;
    let id: number;
    try {
      id = Number(await this.blocking.client("ID"));
    } catch (error) {
      // The connection dropped again: its next "connect" asks again.
      if (connection === this.connection) log.warn("reading the blocking redis connection's id failed", { error });
      return;
    }
    if (connection !== this.connection) return;
    this.blockingId = id;
    if (this.unblockWanted) this.unblock();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.kick();
    await this.loop;
  }

  /**
   * The events of `key` after `afterSeq`, then live ones until the terminal
   * event. A reader of a running turn whose `afterSeq` is past what the log
   * holds (the log lags its sender, or a client passes a seq of the chat's
   * earlier turn) reads from the log's last entry, so it still sees the turn
   * end, whatever seq that end has.
   */
  async *read(key: string, afterSeq: number, { signal, running }: { signal?: AbortSignal; running: boolean }) {
    let cursor = cursorAfter(afterSeq);
    if (running && afterSeq >= 0) {
      const [last] = parseEntries(await this.commands.xrevrange(key, "+", "-", "COUNT", 1));
      if (last && compareIds(last.id, cursor) < 0) cursor = last.id;
    }
    // The last seq this reader holds: a recovered turn's terminal may carry one
    // it holds already (see RECOVERED_TERMINAL_ID); it comes as the next seq.
    let held = afterSeq;
    for await (const entries of this.entries(key, cursor, { signal, running })) {
      for (const entry of entries) {
        if (entry.e === undefined) continue;
        const event: TurnEvent = parseEvent(entry.e);
        if (isTerminal(event)) {
          if (entry.id === RECOVERED_TERMINAL_ID) yield event.seq > held ? event : { ...event, seq: held + 1 };
          // The owner's own end, before this reader's seq: nothing more for it.
          else if (event.seq > held) yield event;
          return;
        }
        if (event.seq <= held) continue;
        held = event.seq;
        yield event;
      }
    }
  }

  /**
   * The entries of `key` after the entry id `cursor`, in batches, then live ones
   * until `signal` (or, when not `running`, until nothing more is logged).
   */
  async *entries(key: string, cursor: string, { signal, running }: { signal?: AbortSignal; running: boolean }) {
    const follower = new Follower(cursor, running);
    const followers = this.byKey.get(key) ?? new Set<Follower>();
    this.byKey.set(key, followers);
    followers.add(follower);
    const onAbort = () => follower.wake?.();
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      while (!signal?.aborted) {
        const entries = await this.nextEntries(key, follower, running, signal);
        if (entries === null) return;
        follower.heardAt = Date.now();
        yield entries;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      followers.delete(follower);
      if (followers.size === 0 && this.byKey.get(key) === followers) this.byKey.delete(key);
    }
  }

  /** The follower's next entries; null when the read should end (an ended turn with nothing more logged). */
  private async nextEntries(key: string, follower: Follower, running: boolean, signal?: AbortSignal) {
    for (;;) {
      if (signal?.aborted) return null;
      if (follower.queue.length > 0) return follower.queue.splice(0);
      if (!follower.live) {
        const page = parseEntries(await this.commands.xrange(key, `(${follower.cursor}`, "+", "COUNT", PAGE));
        if (page.length > 0) {
          follower.cursor = page.at(-1)!.id;
          return page;
        }
        if (!running && (await this.commands.exists(key)) === 0) return null;
        follower.live = true;
        this.kick();
        continue;
      }
      const woke = await new Promise<boolean>((resolve) => {
        const timer = running ? null : setTimeout(() => resolve(false), ENDED_GRACE_MS);
        follower.wake = () => {
          if (timer) clearTimeout(timer);
          resolve(true);
        };
      });
      follower.wake = null;
      if (!woke) return null;
    }
  }

  /** The keys some reader of a running turn has waited on for `quietMs` or more. */
  quietKeys(quietMs: number): string[] {
    const since = Date.now() - quietMs;
    return [...this.byKey].filter(([, of]) => [...of].some((f) => f.running && f.heardAt <= since)).map(([key]) => key);
  }

  /** Makes the shared reader take the followers' current keys and cursors. */
  private kick(): void {
    if (this.idle) this.idle();
    else if (this.blocked) {
      this.unblockWanted = true;
      this.unblock();
    }
  }

  /**
   * Ends the blocked read, with the blocking connection's current id only
   * (none while it reconnects: its "connect" calls this again). Redis answers 0
   * when the read has not reached it yet (just sent, or resent after a
   * reconnection): tried again shortly, while that read is still blocked.
   */
  private unblock(): void {
    if (this.unblocking || this.blockingId === null || !this.blocked || !this.unblockWanted) return;
    this.unblocking = true;
    const read = this.reads;
    const retry = () => {
      this.unblocking = false;
      if (this.blocked && this.reads === read) setTimeout(() => this.unblock(), UNBLOCK_RETRY_MS).unref();
    };
    this.commands.client("UNBLOCK", this.blockingId).then((unblocked) => {
      if (Number(unblocked) === 1) this.unblocking = false;
      else retry();
    }, retry);
  }

  private async run(): Promise<void> {
    while (!this.closed) {
      const keys: string[] = [];
      const ids: string[] = [];
      for (const [key, followers] of this.byKey) {
        let lowest: string | null = null;
        for (const follower of followers) {
          if (follower.live && (lowest === null || compareIds(follower.cursor, lowest) < 0)) lowest = follower.cursor;
        }
        if (lowest !== null) {
          keys.push(key);
          ids.push(lowest);
        }
      }
      if (keys.length === 0) {
        await new Promise<void>((resolve) => (this.idle = resolve));
        this.idle = null;
        continue;
      }
      let result: unknown;
      try {
        this.blocked = true;
        this.reads++;
        result = await this.blocking.call("XREAD", "COUNT", PAGE, "BLOCK", BLOCK_MS, "STREAMS", ...keys, ...ids);
      } catch (error) {
        if (this.closed) return;
        log.warn("reading redis streams failed", { error });
        await sleep(500);
        continue;
      } finally {
        this.blocked = false;
        this.unblockWanted = false;
        this.unblocking = false;
      }
      if (Array.isArray(result))
        for (const [key, raw] of result as [string, unknown][]) this.feed(key, parseEntries(raw));
    }
  }

  private feed(key: string, entries: LogEntry[]): void {
    for (const follower of this.byKey.get(key) ?? []) {
      if (!follower.live) continue;
      for (const entry of entries) {
        if (compareIds(entry.id, follower.cursor) <= 0) continue;
        follower.queue.push(entry);
        follower.cursor = entry.id;
      }
      if (follower.queue.length > MAX_QUEUED) follower.live = false;
      follower.wake?.();
    }
  }
}
