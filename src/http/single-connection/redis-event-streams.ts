import type { Redis } from "ioredis";
import { ChatSDKError } from "../../errors.ts";
import { log } from "../../log.ts";
import { RedisConnections } from "../../redis/connections.ts";
import type { RedisLogFollowers } from "../../turn/redis-log-followers.ts";
import type {
  AddResult,
  EventStreams,
  HeldStream,
  OpenResult,
  ReserveResult,
  StreamState,
  WaitingBounds,
} from "./event-streams.ts";
import { overflowFrames, resultsIn, TOMBSTONE_MS, WAITING_BOUNDS } from "./event-streams.ts";

// Per stream (the braces make the id a hash tag: one Redis Cluster slot):
//   …:events  a Redis Stream of SSE frames, XADDed by whichever instance runs
//             an operation and read by the one holding the GET, through the
//             shared blocking reader the turn logs use (no gap between a POST
//             and the reader, and frames sent before the GET wait for it).
//             The holder trims what its client has taken; past the waiting
//             bounds the sender ends it with an `end` entry naming the
//             operations, and the holder closes the stream with an error for
//             each (nothing trimmed unread, nothing lost silently). Until a
//             GET holds it, it lives no longer than its reservation;
//   …:waiting the results (r) and bytes (b) in …:events not taken yet: the
//             sender adds, the holder takes away what it read;
//   …:holder  "open" while a GET holds the stream (its instance refreshes it),
//             then "closed" for a while, so a second GET or a late POST is refused;
//   …:ops     the ids of its operations (duplicates and the count are refused).
// Cancels (DELETE, or the GET closing) go to every instance over pub/sub,
// since the operation runs where its POST arrived.
const key = (id: string, part: "events" | "waiting" | "holder" | "ops") => `chat-gateway:sse:{${id}}:${part}`;
const CANCEL_CHANNEL = "chat-gateway:sse-cancel";
// A holder that stops refreshing (its instance died) lets its stream go within this.
const HOLDER_TTL_MS = 30_000;
const HOLDER_REFRESH_MS = 10_000;
// How long a held stream nobody writes to lives.
const EVENTS_TTL_MS = 10 * 60_000;

// XADD unless the stream's GET has closed (frames still in flight from an
// operation being stopped must not bring a deleted stream back) or it has
// ended; past the waiting bounds (only what already waits counts: a holder
// that keeps up gets any result), end it (2) instead; a stream no GET holds
// lives only as long as its reservation (and a grace for clocks that differ),
// past which nothing is added (3).
const SEND_FRAMES = `
local holder = redis.call('GET', KEYS[2])
if holder == 'closed' then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last and last[2][1] == 'end' then return 0 end
local ttl = tonumber(ARGV[3])
if not holder then
  local left = tonumber(ARGV[6])
  if left + tonumber(ARGV[7]) <= 0 then return 3 end
  ttl = left + tonumber(ARGV[8])
end
local waitingResults = tonumber(redis.call('HGET', KEYS[4], 'r') or '0')
local waitingBytes = tonumber(redis.call('HGET', KEYS[4], 'b') or '0')
local results = waitingResults + tonumber(ARGV[5])
local bytes = waitingBytes + #ARGV[4]
if (waitingResults > 0 and results > tonumber(ARGV[1])) or (waitingBytes > 0 and bytes > tonumber(ARGV[2])) then
  local ops = redis.call('SMEMBERS', KEYS[3])
  redis.call('XADD', KEYS[1], '*', 'end', #ops == 0 and '[]' or cjson.encode(ops))
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 2
end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[4])
redis.call('HSET', KEYS[4], 'r', results, 'b', bytes)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[4], ttl)
return 1`;

type Commands = Redis & {
  sendFrames(
    events: string,
    holder: string,
    ops: string,
    waiting: string,
    maxResults: number,
    maxBytes: number,
    ttlMs: number,
    frames: string,
    results: number,
    reservationLeftMs: number,
    refuseGraceMs: number,
    keepGraceMs: number,
  ): Promise<number>;
  takeFrames(events: string, waiting: string, afterId: string, results: number, bytes: number): Promise<number>;
  refreshHolder(holder: string, ops: string, holderTtlMs: number, opsTtlMs: number): Promise<number>;
};

// The holder took what it read: trimmed, and no longer counted as waiting
// (only while the count exists: a stream whose keys expired meanwhile gets no
// count without an expiry, nor below zero).
const TAKE_FRAMES = `
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], 'r', -tonumber(ARGV[2])) < 0 then redis.call('HSET', KEYS[2], 'r', 0) end
  if redis.call('HINCRBY', KEYS[2], 'b', -tonumber(ARGV[3])) < 0 then redis.call('HSET', KEYS[2], 'b', 0) end
end
return 1`;

// The holder is alive: its key is set again even if Redis lost it (a sender
// would otherwise take the stream for one nobody opened), unless it was closed.
const REFRESH_HOLDER = `
if redis.call('GET', KEYS[1]) ~= 'closed' then redis.call('SET', KEYS[1], 'open', 'PX', ARGV[1]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;

// A sender's clock and the opener's may differ: frames sent before the GET are
// kept this long past the reservation, and refused only this long after it.
const KEEP_GRACE_MS = 30_000;
const REFUSE_GRACE_MS = 5_000;

export interface RedisEventStreamsOptions {
  /** What may wait for a holder that stopped reading; past it the stream ends with an error (default WAITING_BOUNDS). */
  waiting?: WaitingBounds;
}

export class RedisEventStreams implements EventStreams {
  /** On connections of its own (`url`), or on an instance's shared ones; closing gives them back. */
  static async connect(
    redis: string | RedisConnections,
    options: RedisEventStreamsOptions = {},
  ): Promise<RedisEventStreams> {
    const connections = (typeof redis === "string" ? await RedisConnections.connect(redis) : redis).use();
    const commands = connections.commands as Commands;
    if (typeof commands.sendFrames !== "function") {
      commands.defineCommand("sendFrames", { numberOfKeys: 4, lua: SEND_FRAMES });
      commands.defineCommand("takeFrames", { numberOfKeys: 2, lua: TAKE_FRAMES });
      commands.defineCommand("refreshHolder", { numberOfKeys: 2, lua: REFRESH_HOLDER });
    }
    const streams = new RedisEventStreams(connections, options.waiting ?? WAITING_BOUNDS);
    await connections.subscribe(CANCEL_CHANNEL, (text) => streams.heard(text));
    return streams;
  }

  readonly shared = true;
  private readonly listeners: ((id: string, operationId: string | null) => void)[] = [];

  private readonly redis: RedisConnections;
  private readonly commands: Commands;
  private readonly followers: RedisLogFollowers;
  private readonly waiting: WaitingBounds;

  private constructor(redis: RedisConnections, waiting: WaitingBounds) {
    this.waiting = waiting;
    this.redis = redis;
    this.commands = redis.commands as Commands;
    this.followers = redis.followers;
  }

  private heard(text: string): void {
    try {
      const { id, op } = JSON.parse(text) as { id: string; op: string | null };
      for (const listener of this.listeners) listener(id, op);
    } catch (error) {
      log.warn("malformed event stream cancel", { error });
    }
  }

  // Nothing to store: the signed token carries the reservation.
  async reserve(): Promise<ReserveResult> {
    return "reserved";
  }

  async open(id: string, reservedUntil: number): Promise<OpenResult> {
    if (Date.now() > reservedUntil) return { kind: "gone" };
    const claimed = await this.commands.set(key(id, "holder"), "open", "PX", HOLDER_TTL_MS, "NX").catch(unavailable);
    if (claimed !== "OK") {
      const holder = await this.commands.get(key(id, "holder")).catch(unavailable);
      return holder === "open" ? { kind: "already-open" } : { kind: "gone" };
    }
    // Frames sent before the GET lived only as long as the reservation; now they wait for this holder.
    await this.commands
      .multi()
      .pexpire(key(id, "events"), EVENTS_TTL_MS)
      .pexpire(key(id, "waiting"), EVENTS_TTL_MS)
      .exec()
      .catch(unavailable);
    return { kind: "opened", stream: this.held(id) };
  }

  async state(id: string, reservedUntil: number): Promise<StreamState> {
    const holder = await this.commands.get(key(id, "holder")).catch(unavailable);
    if (holder === "open") return "open";
    if (holder === null && Date.now() <= reservedUntil) return "reserved";
    return "gone";
  }

  async addOperation(id: string, operationId: string, max: number): Promise<AddResult> {
    const ops = key(id, "ops");
    const replies = await this.commands
      .multi()
      .sadd(ops, operationId)
      .scard(ops)
      .pexpire(ops, EVENTS_TTL_MS)
      .exec()
      .catch(unavailable);
    const [added, count] = (replies ?? []).map(([, value]) => Number(value));
    if (added === 0) return "duplicate";
    if (count > max) {
      await this.commands.srem(ops, operationId).catch(unavailable);
      return "too-many";
    }
    return "added";
  }

  async removeOperation(id: string, operationId: string): Promise<void> {
    await this.commands.srem(key(id, "ops"), operationId);
  }

  send(id: string, frames: string, reservedUntil: number): void {
    // One connection sends every command in the order issued, so frames stay in order.
    this.commands
      .sendFrames(
        key(id, "events"),
        key(id, "holder"),
        key(id, "ops"),
        key(id, "waiting"),
        this.waiting.results,
        this.waiting.bytes,
        EVENTS_TTL_MS,
        frames,
        resultsIn(frames),
        Math.floor(reservedUntil - Date.now()),
        REFUSE_GRACE_MS,
        KEEP_GRACE_MS,
      )
      // Ended, or never opened in time: its operations' results would go nowhere, so they stop (a turn goes on, resumable).
      .then((sent) => (sent === 2 || sent === 3 ? this.cancel(id, null) : undefined))
      .catch((error: unknown) => log.warn("sending to an event stream failed", { error }));
  }

  async cancel(id: string, operationId: string | null): Promise<void> {
    await this.commands.publish(CANCEL_CHANNEL, JSON.stringify({ id, op: operationId })).catch(unavailable);
  }

  onCancel(listener: (id: string, operationId: string | null) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.redis.release();
  }

  private held(id: string): HeldStream {
    const done = new AbortController();
    const refresh = setInterval(() => {
      this.commands.refreshHolder(key(id, "holder"), key(id, "ops"), HOLDER_TTL_MS, EVENTS_TTL_MS).catch(() => {});
    }, HOLDER_REFRESH_MS).unref();
    const { followers, commands, waiting } = this;
    const frames = async function* () {
      for await (const entries of followers.entries(key(id, "events"), "0-0", { signal: done.signal, running: true })) {
        const end = entries.findIndex((entry) => entry.end !== undefined);
        const waited = (end === -1 ? entries : entries.slice(0, end)).flatMap((entry) => entry.e ?? []);
        if (end !== -1) {
          yield [...waited, overflowFrames(operationIdsOf(entries[end].end!), waiting)];
          return;
        }
        yield waited;
        // The client asked for more: what it took no longer waits.
        let results = 0;
        let bytes = 0;
        for (const frame of waited) {
          results += resultsIn(frame);
          bytes += Buffer.byteLength(frame);
        }
        commands
          .takeFrames(key(id, "events"), key(id, "waiting"), idAfter(entries.at(-1)!.id), results, bytes)
          .catch(() => {});
      }
    };
    let closing: Promise<void> | null = null;
    const close = () =>
      (closing ??= (async () => {
        clearInterval(refresh);
        done.abort();
        await this.commands
          .multi()
          .set(key(id, "holder"), "closed", "PX", TOMBSTONE_MS)
          .del(key(id, "events"), key(id, "waiting"), key(id, "ops"))
          .exec();
        await this.cancel(id, null);
      })().catch((error: unknown) => log.warn("closing an event stream failed", { error })));
    return { frames: frames(), close };
  }
}

/** Redis not answering is the client's `offline:chat` (503: try again); the details are logged, not sent. */
function unavailable(error: unknown): never {
  log.warn("event streams: redis did not answer", { error });
  throw new ChatSDKError(
    "offline:chat",
    "Single-connection mode is not available right now. Please try again in a few seconds.",
    { retryable: true },
  );
}

/** The smallest stream entry id after `id` ("ms-seq"). */
function idAfter(id: string): string {
  const [ms, seq] = id.split("-");
  return `${ms}-${BigInt(seq) + 1n}`;
}

function operationIdsOf(json: string): string[] {
  try {
    const ids: unknown = JSON.parse(json);
    return Array.isArray(ids) ? ids.filter((id): id is string => typeof id === "string") : [];
  } catch {
    return [];
  }
}
