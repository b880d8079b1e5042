import { addressLimitKey } from "./client-address.ts";
import { createRedisGuestSessionLimiter } from "./guest-limit-redis.ts";

const WINDOW_MS = 60 * 60 * 1000;
const MAX_TRACKED = 100_000;

/**
 * Guest sessions each get a fresh daily quota, so minting them without bound
 * would void the quota: at most `perHour` sessions per client address in a
 * sliding hour (0: no limit).
 */
export interface GuestSessionLimiter {
  /**
   * Counts a session for `address`: 0 when counted; when the address is at its
   * limit, how long (ms) until its oldest session of the hour leaves the count.
   */
  take(address: string): Promise<number>;
  /** Settles once it counts where it will (Redis connected, or given up on within its bound); never rejects. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Shared by every instance through Redis when REDIS_URL is set; in memory, per instance, otherwise. */
export function createGuestSessionLimiter(perHour: number, redisUrl?: string): GuestSessionLimiter {
  if (perHour === 0) return { take: async () => 0, ready: async () => {}, close: async () => {} };
  const memory = createMemoryGuestSessionLimiter(perHour);
  const limiter: GuestSessionLimiter = redisUrl
    ? createRedisGuestSessionLimiter({ url: redisUrl, perHour, windowMs: WINDOW_MS, fallback: memory })
    : { take: async (address) => memory.take(address), ready: async () => {}, close: async () => {} };
  // Counted by what one client holds: an IPv6 client's whole /64.
  return { ...limiter, take: (address) => limiter.take(addressLimitKey(address)) };
}

/** The sliding-hour count of one instance (and the Redis limiter's fallback). */
export function createMemoryGuestSessionLimiter(perHour: number) {
  const recent = new Map<string, number[]>();
  return {
    /** As GuestSessionLimiter's take: 0 when counted, else the ms until the address may start another. */
    take(address: string, now = Date.now()): number {
      if (perHour === 0) return 0;
      const times = (recent.get(address) ?? []).filter((at) => now - at < WINDOW_MS);
      if (times.length >= perHour) {
        recent.set(address, times);
        // Until enough sessions leave the hour for one more (within the hour, should the clock step back).
        return Math.min(WINDOW_MS, Math.max(1, times[times.length - perHour]! + WINDOW_MS - now));
      }
      times.push(now);
      recent.delete(address);
      if (recent.size >= MAX_TRACKED) recent.delete(recent.keys().next().value as string);
      recent.set(address, times);
      return 0;
    },
  };
}

export type MemoryGuestSessionLimiter = ReturnType<typeof createMemoryGuestSessionLimiter>;
