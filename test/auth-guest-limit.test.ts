import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createGuestSessionLimiter, clientAddress } from "../src/auth/guest-limit.ts";
import { closeGateway, expectError, expectOk } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

const GUEST = `mutation { createGuestSession { token } }`;

describe("guest sessions per client address", () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ GUEST_SESSIONS_PER_HOUR: "3" });
  });
  afterAll(() => closeGateway(gateway));

  test("past the hourly limit, createGuestSession is rate_limit:chat; signed-in guests carry on", async () => {
    const tokens: string[] = [];
    for (let i = 0; i < 3; i++) tokens.push(expectOk(await gateway.gql(GUEST)).createGuestSession.token);
    expectError(await gateway.gql(GUEST), "rate_limit:chat");
    expect(expectOk(await gateway.gql(`{ me { type } }`, {}, tokens[0])).me.type).toBe("GUEST");
  });
});

describe("the limiter", () => {
  test("counts a sliding hour per address; 0 means no limit", () => {
    const limiter = createGuestSessionLimiter(2);
    const t0 = Date.UTC(2026, 0, 1);
    expect([limiter.take("a", t0), limiter.take("a", t0 + 1), limiter.take("a", t0 + 2)]).toEqual([true, true, false]);
    expect(limiter.take("b", t0 + 2)).toBe(true);
    expect(limiter.take("a", t0 + 60 * 60 * 1000 + 1)).toBe(true);
    const unlimited = createGuestSessionLimiter(0);
    expect(Array.from({ length: 100 }, () => unlimited.take("a")).every(Boolean)).toBe(true);
  });

  test("X-Forwarded-For is believed only behind a trusted proxy", () => {
    const request = new Request("http://gateway/graphql", { headers: { "x-forwarded-for": "203.0.113.7, 10.0.0.1" } });
    expect(clientAddress(request, "10.0.0.1", true)).toBe("203.0.113.7");
    expect(clientAddress(request, "10.0.0.1", false)).toBe("10.0.0.1");
  });
});
