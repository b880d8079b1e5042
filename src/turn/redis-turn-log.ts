import type { UIMessageChunk } from "ai";
import type { Redis } from "ioredis";
import { log } from "../log.ts";
import { RedisConnections } from "../redis/connections.ts";
import { EventWindow } from "./event-window.ts";
import {
  eventEntryId,
  impliedChunk,
  parseEntries,
  parseEvent,
  RECOVERED_TERMINAL_ID,
  streamIdOfKey,
  turnKey,
} from "./redis-log-entries.ts";
import { appendEntries } from "./redis-log-append.ts";
import { batchWrites, type LocalTurn, type Pending } from "./redis-log-batch.ts";
import { UnwrittenTerminals } from "./redis-log-terminals.ts";
import type { RedisLogFollowers } from "./redis-log-followers.ts";
import {
  isTerminal,
  ReaderFellBehind,
  type LoggedTurn,
  type ReadOptions,
  type TurnEvent,
  type TurnLog,
} from "./turn-log.ts";

// Events Redis holds that a turn run here keeps for local readers besides the unwritten ones.
const WINDOW_KEEP = 256;
const RECOVER_PAGE = 1_000;

/**
 * The turn log in Redis: a Stream per turn, written in one command per turn
 * of the event loop after the events have gone to local readers (so Redis adds
 * nothing to the first delta), capped with MAXLEN ~ and expired after the
 * retention. Turns run here are read from memory while their readers keep up,
 * and from Redis otherwise; turns of other instances from Redis, through one
 * shared blocking reader (redis-log-followers.ts).
 */
export class RedisTurnLog implements TurnLog {
  /** On connections of its own, closed at shutdown. */
  static async connect(url: string, options: { retentionMs: number; maxEvents: number }): Promise<RedisTurnLog> {
    return new RedisTurnLog((await RedisConnections.connect(url)).use(), options);
  }

  /** On an instance's shared connections (one use of them, released at shutdown). */
  static over(redis: RedisConnections, options: { retentionMs: number; maxEvents: number }): RedisTurnLog {
    return new RedisTurnLog(redis.use(), options);
  }

  private readonly local = new Map<string, LocalTurn>();
  private pending: Pending[] = [];
  /** Turns ended while entries of theirs were still unwritten: dropped from `local` once none is. */
  private readonly ending = new Set<string>();
  private flushing: Promise<void> = Promise.resolve();
  /** Terminal entries Redis did not take, written again once it is back. */
  private readonly unwrittenTerminals: UnwrittenTerminals;
  private readonly retentionSeconds: number;
  private readonly maxLength: number;

  private readonly redis: RedisConnections;
  private readonly commands: Redis;
  private readonly followers: RedisLogFollowers;

  private constructor(redis: RedisConnections, { retentionMs, maxEvents }: { retentionMs: number; maxEvents: number }) {
    this.redis = redis;
    this.commands = redis.commands;
    this.followers = redis.followers;
    this.retentionSeconds = Math.max(1, Math.ceil(retentionMs / 1000));
    // Room for every event of the longest turn and its chunk-only entries: the cap only guards Redis.
    this.maxLength = maxEvents * 3 + 100;
    this.unwrittenTerminals = new UnwrittenTerminals(this.commands, {
      retentionMs,
      maxLength: this.maxLength,
      // In the flushes' queue, so a retry never runs beside a flush.
      enqueue: (work) => void this.enqueue(work),
      settled: (streamId) => void (this.ending.has(streamId) && this.letGo(streamId)),
    });
  }

  open(streamId: string): void {
    this.local.set(streamId, {
      window: new EventWindow(),
      lastSeq: -1,
      sub: 1,
      expiring: false,
      degraded: false,
      writtenThrough: -1,
      unwritten: 0,
    });
  }

  append(streamId: string, event: TurnEvent, chunk?: UIMessageChunk): void {
    const turn = this.local.get(streamId);
    if (!turn) return;
    turn.window.push(event);
    turn.lastSeq = event.seq;
    turn.sub = 1;
    turn.unwritten++;
    this.queue({ streamId, id: eventEntryId(event.seq), event, chunk: chunk ?? null, terminal: isTerminal(event) });
  }

  note(streamId: string, chunk: UIMessageChunk): void {
    const turn = this.local.get(streamId);
    if (!turn) return;
    turn.unwritten++;
    this.queue({ streamId, id: `${turn.lastSeq}-${++turn.sub}`, event: null, chunk, terminal: false });
  }

  end(streamId: string): void {
    const unwritten = this.local.get(streamId)?.unwritten ?? 0;
    if (unwritten > 0 || !this.letGo(streamId)) this.ending.add(streamId);
  }

  /**
   * Drops an ended turn's events from memory, unless its terminal entry waits
   * to be written again (Redis lacks its end and the events it missed; a
   * resume here reads them from memory meanwhile). True when dropped.
   */
  private letGo(streamId: string): boolean {
    if (this.unwrittenTerminals.holds(streamId)) return false;
    this.ending.delete(streamId);
    this.local.delete(streamId);
    return true;
  }

  /** Turns whose events this instance holds in memory: its running turns, and ended ones until let go (letGo). */
  get held(): number {
    return this.local.size;
  }

  async *read(streamId: string, afterSeq: number, { signal, running }: ReadOptions): AsyncGenerator<TurnEvent> {
    let cursor = afterSeq;
    const turn = this.local.get(streamId);
    if (turn) {
      try {
        yield* turn.window.read(cursor, signal);
        return;
      } catch (error) {
        // Behind the window: the rest is in Redis, from the last event the reader got.
        if (!(error instanceof ReaderFellBehind)) throw error;
        cursor = error.seq;
      }
    }
    yield* this.followers.read(turnKey(streamId), cursor, { signal, running });
  }

  relaying(): string[] {
    // Ended with entries still on their way (a write that hangs has not failed yet), or whose end Redis refused.
    return [...new Set([...this.ending, ...this.unwrittenTerminals.streamIds()])];
  }

  quietReads(quietMs: number): string[] {
    return this.followers.quietKeys(quietMs).flatMap((key) => streamIdOfKey(key) ?? []);
  }

  async recover(streamId: string): Promise<LoggedTurn | null> {
    const key = turnKey(streamId);
    const logged: LoggedTurn = { chunks: [], lastSeq: -1, ended: false };
    for (let start = "-"; ; ) {
      const page = parseEntries(await this.commands.xrange(key, start, "+", "COUNT", RECOVER_PAGE));
      for (const entry of page) {
        if (entry.c !== undefined) logged.chunks.push(JSON.parse(entry.c) as UIMessageChunk);
        if (entry.e !== undefined) {
          const event = parseEvent(entry.e);
          const implied = entry.c === undefined ? impliedChunk(event) : null;
          if (implied) logged.chunks.push(implied);
          logged.lastSeq = event.seq;
          logged.ended = isTerminal(event);
        }
      }
      if (page.length < RECOVER_PAGE) break;
      start = `(${page.at(-1)!.id}`;
    }
    return logged.lastSeq < 0 ? null : logged;
  }

  async appendTerminal(streamId: string, event: TurnEvent, started?: TurnEvent): Promise<void> {
    const key = turnKey(streamId);
    const writes = this.commands.pipeline();
    if (started) writes.xadd(key, eventEntryId(started.seq), "e", JSON.stringify(started));
    await writes
      .xadd(key, "MAXLEN", "~", this.maxLength, RECOVERED_TERMINAL_ID, "e", JSON.stringify(event))
      .expire(key, this.retentionSeconds)
      .exec();
  }

  async shutdown(): Promise<void> {
    // The last terminal events may wait for their check phase still; those not
    // written get one last try (bounded by the commands' timeout and retries).
    this.unwrittenTerminals.stop();
    void this.enqueue(() => this.flush());
    await this.enqueue(() => this.unwrittenTerminals.retry(false));
    // What Redis still lacks is given up on (logged when it was refused); nothing is held past here.
    this.local.clear();
    this.ending.clear();
    await this.redis.release();
  }

  private queue(entry: Pending): void {
    if (this.pending.length === 0) {
      // Order matters, for speed and for loss: two check phases, the first is when
      // the events' socket writes leave (src/http/coalesce-writes.ts); Redis is
      // written after them, so the first delta never waits for Redis, and a
      // SIGKILL inside this window leaves a client holding events the log lacks
      // (RELIABILITY.md; recovery's terminal still reaches it).
      setImmediate(() => setImmediate(() => void this.enqueue(() => this.flush())));
    }
    this.pending.push(entry);
  }

  /** Runs `work` after the writes queued before it; one that throws is logged, and the ones after it still run. */
  private enqueue(work: () => Promise<void>): Promise<void> {
    this.flushing = this.flushing.then(work).catch((error) => log.error("turn log write failed", { error }));
    return this.flushing;
  }

  /** Writes the queued entries in one command; a turn whose write fails is marked degraded. */
  private async flush(): Promise<void> {
    const batch = this.pending;
    if (batch.length === 0) return;
    this.pending = [];
    try {
      await this.write(batch);
    } finally {
      // Per turn: under steady load some entry is always pending, so waiting for an
      // empty queue would hold every ended turn's events until the load stops.
      for (const entry of batch) {
        const turn = this.local.get(entry.streamId);
        if (turn && --turn.unwritten === 0 && this.ending.has(entry.streamId)) this.letGo(entry.streamId);
      }
    }
  }

  /** The batch's command, then each entry's turn told how it went. */
  private async write(batch: Pending[]): Promise<void> {
    const { writes, written, expiries } = batchWrites(batch, this.local, this.retentionSeconds);
    let failures: Map<number, unknown>;
    try {
      failures = writes.length > 0 ? await appendEntries(this.commands, writes, this.maxLength, expiries) : new Map();
    } catch (error) {
      failures = new Map(written.map((_, i) => [i, error]));
    }
    written.forEach((entry, i) => {
      const turn = this.local.get(entry.streamId);
      const failure = failures.get(i);
      if (failure !== undefined && entry.terminal) {
        // With this flush's other entries of the turn (the missed events), in order.
        const ofTurn = writes.filter((_, k) => k <= i && written[k]!.streamId === entry.streamId);
        this.unwrittenTerminals.keep(entry.streamId, ofTurn);
      }
      if (!turn) return;
      if (failure === undefined && entry.event && !turn.degraded) turn.writtenThrough = entry.event.seq;
      if (failure !== undefined) {
        if (!turn.degraded)
          log.warn("turn log write failed; resumes from other instances miss the rest of the turn until its end", {
            streamId: entry.streamId,
            error: failure,
          });
        turn.degraded = true;
      } else if (entry.event && !turn.degraded && turn.window.size > 2 * WINDOW_KEEP) {
        turn.window.trimTo(entry.event.seq - WINDOW_KEEP + 1);
      }
    });
  }
}
