import { Redis } from "ioredis";
import { ChatSDKError } from "../../errors.ts";
import { log } from "../../log.ts";
import { metrics } from "../../metrics.ts";
import { RedisLogFollowers } from "../../turn/redis-log-followers.ts";
import type { AddResult, EventStreams, HeldStream, OpenResult, ReserveResult, StreamState } from "./event-streams.ts";
import { TOMBSTONE_MS } from "./event-streams.ts";

// Per stream (the braces make the id a hash tag: one Redis Cluster slot):
//   …:events  a Redis Stream of SSE frames, XADDed by whichever instance runs
//             an operation and read by the one holding the GET, through the
//             shared blocking reader the turn logs use (no gap between a POST
//             and the reader, and frames sent before the GET wait for it);
//   …:holder  "open" while a GET holds the stream (its instance refreshes it),
//             then "closed" for a while, so a second GET or a late POST is refused;
//   …:ops     the ids of its operations (duplicates and the count are refused).
// Cancels (DELETE, or the GET closing) go to every instance over pub/sub,
// since the operation runs where its POST arrived.
const key = (id: string, part: "events" | "holder" | "ops") => `chat-gateway:sse:{${id}}:${part}`;
const CANCEL_CHANNEL = "chat-gateway:sse-cancel";
// A holder that stops refreshing (its instance died) lets its stream go within this.
const HOLDER_TTL_MS = 30_000;
const HOLDER_REFRESH_MS = 10_000;
// Frames kept for a holder that is behind, and how long a stream nobody writes to lives.
const MAX_FRAMES = 10_000;
const EVENTS_TTL_MS = 10 * 60_000;

// XADD unless the stream's GET has closed: frames still in flight from an
// operation being stopped must not bring a deleted stream back.
const SEND_FRAMES = `
if redis.call('GET', KEYS[2]) == 'closed' then return 0 end
redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'e', ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

type Commands = Redis & {
  sendFrames(events: string, holder: string, maxFrames: number, ttlMs: number, frames: string): Promise<number>;
};

export class RedisEventStreams implements EventStreams {
  static async connect(url: string): Promise<RedisEventStreams> {
    const commands = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2, commandTimeout: 5_000 }) as Commands;
    commands.defineCommand("sendFrames", { numberOfKeys: 2, lua: SEND_FRAMES });
    const blocking = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
    const subscriber = new Redis(url, { lazyConnect: true });
    for (const client of [commands, blocking, subscriber]) {
      client.on("error", (error) => {
        metrics.redisError();
        log.warn("redis connection failed (event streams)", { error });
      });
    }
    await Promise.all([commands.connect(), blocking.connect(), subscriber.connect()]);
    const followers = new RedisLogFollowers(blocking, commands);
    await followers.start();
    const streams = new RedisEventStreams(commands, blocking, subscriber, followers);
    await subscriber.subscribe(CANCEL_CHANNEL);
    return streams;
  }

  readonly shared = true;
  private readonly listeners: ((id: string, operationId: string | null) => void)[] = [];

  private readonly commands: Commands;
  private readonly blocking: Redis;
  private readonly subscriber: Redis;
  private readonly followers: RedisLogFollowers;

  private constructor(commands: Commands, blocking: Redis, subscriber: Redis, followers: RedisLogFollowers) {
    this.commands = commands;
    this.blocking = blocking;
    this.subscriber = subscriber;
    this.followers = followers;
    subscriber.on("message", (_channel: string, text: string) => {
      try {
        const { id, op } = JSON.parse(text) as { id: string; op: string | null };
        for (const listener of this.listeners) listener(id, op);
      } catch (error) {
        log.warn("malformed event stream cancel", { error });
      }
    });
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

  send(id: string, frames: string): void {
    // One connection sends every command in the order issued, so frames stay in order.
    this.commands
      .sendFrames(key(id, "events"), key(id, "holder"), MAX_FRAMES, EVENTS_TTL_MS, frames)
      .catch((error: unknown) => log.warn("sending to an event stream failed", { error }));
  }

  async cancel(id: string, operationId: string | null): Promise<void> {
    await this.commands.publish(CANCEL_CHANNEL, JSON.stringify({ id, op: operationId })).catch(unavailable);
  }

  onCancel(listener: (id: string, operationId: string | null) => void): void {
    this.listeners.push(listener);
  }

  async close(): Promise<void> {
    await this.followers.close();
    await Promise.allSettled([this.subscriber.quit(), this.blocking.quit(), this.commands.quit()]);
  }

  private held(id: string): HeldStream {
    const done = new AbortController();
    const refresh = setInterval(() => {
      this.commands
        .multi()
        .set(key(id, "holder"), "open", "PX", HOLDER_TTL_MS, "XX")
        .pexpire(key(id, "ops"), EVENTS_TTL_MS)
        .exec()
        .catch(() => {});
    }, HOLDER_REFRESH_MS).unref();
    const followers = this.followers;
    const frames = async function* () {
      for await (const entries of followers.entries(key(id, "events"), "0-0", { signal: done.signal, running: true }))
        yield entries.flatMap((entry) => (entry.e === undefined ? [] : [entry.e]));
    };
    let closing: Promise<void> | null = null;
    const close = () =>
      (closing ??= (async () => {
        clearInterval(refresh);
        done.abort();
        await this.commands
          .multi()
          .set(key(id, "holder"), "closed", "PX", TOMBSTONE_MS)
          .del(key(id, "events"), key(id, "ops"))
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
