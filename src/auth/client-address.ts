/**
 * The caller's address for per-client limits. Behind `trustedHops` proxies,
 * each appending the address it saw to X-Forwarded-For, the client's is the
 * one `trustedHops` entries from the right: everything left of it the client
 * may have written itself (Express's `trust proxy` with a number). Without
 * trusted proxies, or without the header, the socket's address.
 */
export function clientAddress(request: Request, socketAddress: string | undefined, trustedHops: number): string {
  if (trustedHops > 0) {
    const hops = (request.headers.get("x-forwarded-for") ?? "")
      .split(",")
      .map((hop) => hop.trim())
      .filter((hop) => hop !== "");
    // Fewer hops than proxies: the furthest any proxy saw.
    if (hops.length > 0) return hops[Math.max(0, hops.length - trustedHops)];
  }
  return socketAddress || "unknown";
}
