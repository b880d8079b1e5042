const HOUR_MS = 60 * 60 * 1000;
const MAX_TRACKED = 100_000;

/**
 * Guest sessions each get a fresh daily quota, so minting them without bound
 * would void the quota: at most `perHour` sessions per client address in a
 * sliding hour (0: no limit). In memory, per instance.
 */
export function createGuestSessionLimiter(perHour: number) {
  const recent = new Map<string, number[]>();
  return {
    /** Counts a session for `address`; false when the address is over its limit. */
    take(address: string, now = Date.now()): boolean {
      if (perHour === 0) return true;
      const times = (recent.get(address) ?? []).filter((at) => now - at < HOUR_MS);
      if (times.length >= perHour) {
        recent.set(address, times);
        return false;
      }
      times.push(now);
      recent.delete(address);
      if (recent.size >= MAX_TRACKED) recent.delete(recent.keys().next().value as string);
      recent.set(address, times);
      return true;
    },
  };
}

/** The caller's address: the first X-Forwarded-For hop behind a trusted proxy, else the socket's. */
export function clientAddress(request: Request, socketAddress: string | undefined, trustProxy: boolean): string {
  const forwarded = trustProxy ? request.headers.get("x-forwarded-for")?.split(",")[0]?.trim() : undefined;
  return forwarded || socketAddress || "unknown";
}
