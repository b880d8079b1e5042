import { randomInt } from "node:crypto";
import { createServer, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { addressLimitKey, clientAddress } from "../src/auth/client-address.ts";
import { createGuestSessionLimiter, createMemoryGuestSessionLimiter } from "../src/auth/guest-limit.ts";
import { createRedisGuestSessionLimiter } from "../src/auth/guest-limit-redis.ts";
import { parseEnv } from "../src/config/env.ts";
import { closeGateway, expectError, expectOk } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

const GUEST = `mutation { createGuestSession { token } }`;
const HOUR_MS = 60 * 60 * 1000;

/** createGuestSession from `forwardedFor` (an X-Forwarded-For header as the proxies wrote it). */
async function signIn(gateway: TestGateway, forwardedFor?: string) {
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(forwardedFor ? { "x-forwarded-for": forwardedFor } : {}) },
    body: JSON.stringify({ query: GUEST }),
  });
  return response.json();
}

// A documentation address (RFC 5737) of its own per run: Redis outlives test runs.
const freshAddress = () => `198.51.${randomInt(256)}.${randomInt(256)}`;

describe("guest sessions per client address", () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ GUEST_SESSIONS_PER_HOUR: "3" });
  });
  afterAll(() => closeGateway(gateway));

  test("past the hourly limit, createGuestSession is rate_limit:chat; signed-in guests carry on", async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) tokens.push(expectOk(await gateway.gql(GUEST)).createGuestSession.token);
    const refused = await gateway.gql(GUEST);
    expectError(refused, "rate_limit:chat");
    // Told apart from the daily quota, and when to come back: the first session leaves the hour then.
    const { reason, retryable, retryAfterSeconds } = refused.errors![0]!.extensions as Record<string, number | string>;
    expect({ reason, retryable }).toEqual({ reason: "too_many_guest_sessions", retryable: true });
    expect(retryAfterSeconds).toBeGreaterThan(3590);
    expect(retryAfterSeconds).toBeLessThanOrEqual(3600);
    expect(expectOk(await gateway.gql(`{ me { type } }`, {}, tokens[0])).me.type).toBe("GUEST");
  });
});

describe("behind one trusted proxy (TRUST_PROXY=true)", () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ GUEST_SESSIONS_PER_HOUR: "2", TRUST_PROXY: "true" });
  });
  afterAll(() => closeGateway(gateway));

  test("a client that writes a new X-Forwarded-For for each sign-in is still limited by the address its proxy appended", async () => {
    const client = freshAddress();
    for (let i = 0; i < 2; i++) expectOk(await signIn(gateway, `10.9.9.${i}, ${client}`));
    expectError(await signIn(gateway, `10.9.9.7, ${client}`), "rate_limit:chat");
    // Another client behind the same proxy is not.
    expectOk(await signIn(gateway, `10.9.9.7, ${freshAddress()}`));
  });

  test("an IPv6 client is counted by its /64: a new address of the same /64 for each sign-in is still limited", async () => {
    // A documentation prefix (RFC 3849) of its own per run.
    const prefix = `2001:db8:${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}`;
    expectOk(await signIn(gateway, `${prefix}::1`));
    expectOk(await signIn(gateway, `${prefix}:0:0:0:2`));
    expectError(await signIn(gateway, `${prefix}:ffff:1234:5678:9abc`), "rate_limit:chat");
    // Another /64 is another client.
    expectOk(await signIn(gateway, `2001:db8:${randomInt(65536).toString(16)}:${randomInt(65536).toString(16)}::1`));
  });
});

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("guest sessions across instances (REDIS_URL)", () => {
  let a: TestGateway;
  let b: TestGateway;
  beforeAll(async () => {
    const settings = { REDIS_URL: redisUrl!, GUEST_SESSIONS_PER_HOUR: "3", TRUST_PROXY: "1" };
    a = await startTestGateway(settings);
    b = await startTestGateway(settings, { database: a.database });
  });
  afterAll(async () => {
    await b?.close();
    await closeGateway(a);
  });

  test("the limit holds for one address across two instances, also for sign-ins at once", async () => {
    const client = freshAddress();
    const results = await Promise.all([a, b, a, b, a, b].map((gateway) => signIn(gateway, client)));
    expect(results.filter((result) => result.data?.createGuestSession).length).toBe(3);
    for (const refused of results.filter((result) => !result.data?.createGuestSession))
      expectError(refused, "rate_limit:chat");
    expectError(await signIn(a, client), "rate_limit:chat");
    const refused = await signIn(b, client);
    expectError(refused, "rate_limit:chat");
    // Redis names the wait as the memory count does: the first session leaves the hour then.
    expect(refused.errors[0].extensions.retryAfterSeconds).toBeGreaterThan(3590);
    expect(refused.errors[0].extensions.retryAfterSeconds).toBeLessThanOrEqual(3600);
  });
});

describe("a Redis that fails", () => {
  let stalled: Server;
  const sockets: Socket[] = [];
  beforeAll(async () => {
    // Accepts connections and never answers.
    stalled = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => stalled.listen(0, "127.0.0.1", resolve));
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => stalled.close(resolve));
  });

  const unreachable = () => `redis://127.0.0.1:${(stalled.address() as AddressInfo).port}`;

  for (const [name, url] of [
    ["stalled", unreachable],
    ["refusing connections", () => "redis://127.0.0.1:1"],
  ] as const) {
    test(`${name}: sign-in is answered within the bound, counted in memory`, async () => {
      const limiter = createRedisGuestSessionLimiter({
        url: url(),
        perHour: 2,
        windowMs: HOUR_MS,
        fallback: createMemoryGuestSessionLimiter(2),
        timeoutMs: 200,
      });
      try {
        // Start-up waits for it (app.ts): it gives up within its connect bound.
        const started = Date.now();
        await limiter.ready();
        expect(Date.now() - started).toBeLessThan(4_000);
        // Each take answers (no hang): vitest's own timeout would fail the test otherwise.
        const taken = [await limiter.take("a"), await limiter.take("a"), await limiter.take("a")];
        expect(taken.map((wait) => wait === 0)).toEqual([true, true, false]);
      } finally {
        await limiter.close();
      }
    });
  }
});

describe("the limiter", () => {
  test("counts a sliding hour per address; 0 means no limit", async () => {
    const limiter = createMemoryGuestSessionLimiter(2);
    const t0 = Date.UTC(2026, 0, 1);
    // 0: counted; otherwise the ms until the address's oldest session of the hour leaves the count.
    expect([limiter.take("a", t0), limiter.take("a", t0 + 1), limiter.take("a", t0 + 2)]).toEqual([0, 0, HOUR_MS - 2]);
    expect(limiter.take("b", t0 + 2)).toBe(0);
    expect(limiter.take("a", t0 + HOUR_MS + 1)).toBe(0);
    const unlimited = createGuestSessionLimiter(0, redisUrl);
    const taken = await Promise.all(Array.from({ length: 100 }, () => unlimited.take("a")));
    expect(taken.every((wait) => wait === 0)).toBe(true);
  });
});

describe("the client address", () => {
  const request = (forwardedFor?: string) =>
    new Request("http://gateway/graphql", { headers: forwardedFor ? { "x-forwarded-for": forwardedFor } : {} });

  test("TRUST_PROXY is a number of proxy hops: true is 1, false is 0", () => {
    expect(parseEnv({}).TRUST_PROXY).toBe(0);
    expect(parseEnv({ TRUST_PROXY: "false" }).TRUST_PROXY).toBe(0);
    expect(parseEnv({ TRUST_PROXY: "true" }).TRUST_PROXY).toBe(1);
    expect(parseEnv({ TRUST_PROXY: "2" }).TRUST_PROXY).toBe(2);
    expect(() => parseEnv({ TRUST_PROXY: "yes" })).toThrow(/TRUST_PROXY/);
  });

  test("X-Forwarded-For is read that many hops from the right, never the client's own left-most entry", () => {
    // The client wrote 6.6.6.6; the CDN appended 203.0.113.7, the load balancer 10.0.0.2.
    const forwarded = request("6.6.6.6, 203.0.113.7, 10.0.0.2");
    expect(clientAddress(forwarded, "10.0.0.3", 0)).toBe("10.0.0.3");
    expect(clientAddress(forwarded, "10.0.0.3", 1)).toBe("10.0.0.2");
    expect(clientAddress(forwarded, "10.0.0.3", 2)).toBe("203.0.113.7");
    // More hops trusted than written: the furthest address any proxy saw.
    expect(clientAddress(request("203.0.113.7"), "10.0.0.3", 3)).toBe("203.0.113.7");
    // No header: the socket's.
    expect(clientAddress(request(), "10.0.0.3", 1)).toBe("10.0.0.3");
  });
});

test("the address one client holds: IPv4 as it is, IPv4 mapped into IPv6 as IPv4, IPv6 by its /64", () => {
  expect(addressLimitKey("198.51.100.7")).toBe("198.51.100.7");
  expect(addressLimitKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
  expect(addressLimitKey("2001:db8:1:2:3:4:5:6")).toBe("2001:db8:1:2::/64");
  expect(addressLimitKey("2001:0DB8:0001:0002::9")).toBe("2001:db8:1:2::/64");
  expect(addressLimitKey("2001:db8::1")).toBe("2001:db8:0:0::/64");
  expect(addressLimitKey("[2001:db8:1:2::1]")).toBe("2001:db8:1:2::/64");
  expect(addressLimitKey("fe80::1%eth0")).toBe("fe80:0:0:0::/64");
  expect(addressLimitKey("::1")).toBe("0:0:0:0::/64");
  expect(addressLimitKey("unknown")).toBe("unknown");
  // As some proxies write X-Forwarded-For: with the client's port, which must not make each connection a new client.
  expect(addressLimitKey("198.51.100.7:40001")).toBe("198.51.100.7");
  expect(addressLimitKey("[2001:db8:1:2::1]:40001")).toBe("2001:db8:1:2::/64");
  expect(addressLimitKey("::ffff:c633:6409")).toBe("198.51.100.9");
  expect(addressLimitKey("::ffff:198.51.100.9")).toBe("198.51.100.9");
});
