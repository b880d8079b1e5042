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
import { REFRESH_HOLDER, SEND_FRAMES, TAKE_FRAMES, type Commands } from "./redis-event-stream-scripts.ts";

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
