import { isIPv4, isIPv6 } from "node:net";

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

/**
 * The part of an address one client holds, for counting what it may do: an
 * IPv6 client usually holds a whole /64 (any of its 2^64 addresses is one it
 * may use), so IPv6 addresses count by their first 64 bits; IPv4, and IPv4
 * mapped into IPv6 (`::ffff:1.2.3.4`), by the address.
 */
export function addressLimitKey(address: string): string {
  const plain = withoutPort(address.trim()).replace(/%.*$/, "");
  if (isIPv4(plain)) return plain;
  if (!isIPv6(plain)) return address;
  const groups = ipv6Groups(plain);
  // IPv4 mapped into IPv6, however it is written (::ffff:1.2.3.4 or ::ffff:102:304).
  if (groups.slice(0, 5).every((group) => group === "0") && groups[5] === "ffff") {
    const [high, low] = [Number.parseInt(groups[6]!, 16), Number.parseInt(groups[7]!, 16)];
    return [high >> 8, high & 255, low >> 8, low & 255].join(".");
  }
  return `${groups.slice(0, 4).join(":")}::/64`;
}

/** The address of `[v6]:port`, `[v6]` or `v4:port` (as some proxies write X-Forwarded-For); others as they are. */
function withoutPort(address: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(address);
  if (bracketed) return bracketed[1]!;
  const v4 = /^(\d+\.\d+\.\d+\.\d+):\d+$/.exec(address);
  return v4 ? v4[1]! : address;
}

/** The eight 16-bit groups of a valid IPv6 address, in lower-case hex without leading zeros. */
function ipv6Groups(address: string): string[] {
  // A trailing dotted IPv4 (::ffff:1.2.3.4 and its kind) is two groups.
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(address);
  const text = dotted
    ? address.slice(0, dotted.index) +
      [((+dotted[1]! << 8) | +dotted[2]!).toString(16), ((+dotted[3]! << 8) | +dotted[4]!).toString(16)].join(":")
    : address;
  const [head, tail] = text.includes("::") ? text.split("::") : [text, null];
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = tail === null ? left : [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return groups.map((group) => Number.parseInt(group, 16).toString(16));
}
