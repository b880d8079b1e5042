import { Redis } from "ioredis";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import { RedisLogFollowers } from "../turn/redis-log-followers.ts";

type MessageHandler = (text: string) => void;

/**
 * An instance's Redis connections, shared by the turn log, the stop bus and
 * single-connection mode's event streams: one for commands, one blocking
 * reader (every Stream any of them follows, read by one RedisLogFollowers),
 * and one subscriber for every channel. Each user takes it with `use` and
 * gives it back with `release`; the last release closes the connections.
 */
export class RedisConnections {
  static async connect(url: string): Promise<RedisConnections> {
    // Named, so CLIENT LIST tells an operator which connections are the gateway's.
    const named = (role: string) => ({ lazyConnect: true, connectionName: `chat-gateway:${role}` });
    const commands = new Redis(url, { ...named("commands"), maxRetriesPerRequest: 2, commandTimeout: 5_000 });
    const blocking = new Redis(url, { ...named("blocking"), maxRetriesPerRequest: 2 });
    const subscriber = new Redis(url, named("subscriber"));
    for (const [client, role] of [
      [commands, "commands"],
      [blocking, "blocking reads"],
      [subscriber, "subscriber"],
    ] as const) {
      client.on("error", (error) => {
        metrics.redisError();
        log.warn(`redis connection failed (${role})`, { error });
      });
    }
    await Promise.all([commands.connect(), blocking.connect(), subscriber.connect()]);
    const followers = new RedisLogFollowers(blocking, commands);
    await followers.start();
    return new RedisConnections(commands, blocking, subscriber, followers);
  }

  readonly commands: Redis;
  /** The one blocking reader of every Redis Stream followed here. */
  readonly followers: RedisLogFollowers;
  private readonly blocking: Redis;
  private readonly subscriber: Redis;
  private readonly handlers = new Map<string, MessageHandler[]>();
  private users = 0;
  private closing: Promise<void> | null = null;

  private constructor(commands: Redis, blocking: Redis, subscriber: Redis, followers: RedisLogFollowers) {
    this.commands = commands;
    this.blocking = blocking;
    this.subscriber = subscriber;
    this.followers = followers;
    subscriber.on("message", (channel: string, text: string) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(text);
    });
  }

  /** Counts a user; each calls `release` once when it closes. */
  use(): this {
    this.users++;
    return this;
  }

  /** Hears `channel`'s messages until the connections close. */
  async subscribe(channel: string, handler: MessageHandler): Promise<void> {
    const handlers = this.handlers.get(channel);
    if (handlers) handlers.push(handler);
    else {
      this.handlers.set(channel, [handler]);
      await this.subscriber.subscribe(channel);
    }
  }

  /** A user is done; the last one closes the connections (waiting for the blocking reader to stop). */
  async release(): Promise<void> {
    if (--this.users > 0) return;
    this.closing ??= (async () => {
      await this.followers.close();
      await Promise.allSettled([this.subscriber.quit(), this.blocking.quit(), this.commands.quit()]);
    })();
    await this.closing;
  }
}
