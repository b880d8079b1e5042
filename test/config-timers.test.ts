// Settings that become timers: Node holds a timer for at most 2^31 - 1 ms
// (about 24.8 days) and fires a longer one at once. A TURN_MAX_SECONDS of 35
// days ended every turn as too slow the moment it began; such values, and an
// upstream timeout of 0 (a timer firing at once), are refused at start.
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { sendInput, subscribeWithFetch } from "./support/sse.ts";

test.each([
  ["TURN_MAX_SECONDS", "3000000"],
  ["TURN_LOG_RETENTION_SECONDS", "3000000"],
  ["UPSTREAM_IDLE_TIMEOUT_MS", "3000000000"],
  ["UPSTREAM_FIRST_BYTE_TIMEOUT_MS", "0"],
  ["UPSTREAM_CONNECT_TIMEOUT_MS", "0"],
  ["DB_QUERY_TIMEOUT_MS", "3000000000"],
])("%s=%s is refused at start, naming the setting", (name, value) => {
  expect(() => parseEnv({ [name]: value })).toThrow(new RegExp(`${name}:`));
});

test("TURN_MAX_SECONDS=0 still means no bound", () => {
  expect(parseEnv({ TURN_MAX_SECONDS: "0" }).TURN_MAX_SECONDS).toBe(0);
});

describe("the longest TURN_MAX_SECONDS accepted", () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ TURN_MAX_SECONDS: "2147483", TURN_LOG_RETENTION_SECONDS: "2147483" });
  });
  afterAll(() => gateway?.close());

  test("lets a turn run to its end", async () => {
    const token = await gateway.tokenFor({ id: "long-bound-user" });
    const turn = await subscribeWithFetch(gateway.url, sendInput("[plain] hello"), { token });
    expect(turn.events.at(-1)?.__typename).toBe("StreamFinished");
  });
});
