import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { log } from "../log.ts";
import type { GuestSessionLimiter, MemoryGuestSessionLimiter } from "./guest-limit.ts";

const KEY_PREFIX = "chat-gateway:guest-sessions:";
// Sign-in waits at most this long for Redis before counting in memory instead.
export const GUEST_LIMIT_REDIS_TIMEOUT_MS = 500;
const WARN_EVERY_MS = 60_000;

// One sliding window per address, as a sorted set of session times: trimmed,
// counted and added to in one atomic step, so parallel sign-ins on several
// instances never exceed the limit. 0: counted; else the ms until enough sessions
// leave the hour for one more (within the hour: instances' clocks may differ).
const TAKE = `
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count, limit = redis.call('ZCARD', KEYS[1]), tonumber(ARGV[3])
if count >= limit then
  local freeing = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return math.min(window, math.max(1, tonumber(freeing[2]) + window - now))
end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`;

type TakeCommand = (key: string, now: number, windowMs: number, limit: number, member: string) => Promise<number>;

/**
 * Guest sessions counted across every instance in Redis. When Redis fails or
 * does not answer within GUEST_LIMIT_REDIS_TIMEOUT_MS, this instance counts
 * in memory (`fallback`) rather than refusing or holding up sign-in.
 */
export function createRedisGuestSessionLimiter(options: {
  url: string;
  perHour: number;
  windowMs: number;
  fallback: MemoryGuestSessionLimiter;
  timeoutMs?: number;
}): GuestSessionLimiter {
  const { perHour, windowMs, fallback, timeoutMs = GUEST_LIMIT_REDIS_TIMEOUT_MS } = options;
  const redis = new Redis(options.url, {
    lazyConnect: true,
    // Not connected: fail at once (and count in memory) instead of queueing.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: timeoutMs,
    connectTimeout: Math.max(timeoutMs, 2_000),
    connectionName: "chat-gateway:guest-sessions",
  });
  redis.defineCommand("takeGuestSession", { numberOfKeys: 1, lua: TAKE });
  let warnedAt = -Infinity;
  const warn = (error: unknown) => {
    if (Date.now() - warnedAt < WARN_EVERY_MS) return;
    warnedAt = Date.now();
    log.warn("guest-session limit counted in memory: Redis failed", { error });
  };
  redis.on("error", warn);
  // Bounded by connectTimeout; until it connects, sign-ins are counted in memory.
  const connecting = redis.connect().catch(warn);

  return {
    async take(address) {
      try {
        const take = (redis as unknown as { takeGuestSession: TakeCommand }).takeGuestSession.bind(redis);
        return await take(`${KEY_PREFIX}${address.slice(0, 100)}`, Date.now(), windowMs, perHour, randomUUID());
      } catch (error) {
        warn(error);
        return fallback.take(address);
      }
    },
    ready: () => connecting,
    async close() {
      redis.disconnect();
    },
  };
}
