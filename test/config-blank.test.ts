// Settings written blank (`KEY=`, as compose and Kubernetes files write them)
// are unset, so their defaults hold: a blank number read as 0 switched off the
// overload bound and the drain, and zeroed the guests' quota. Out-of-range
// ports are refused at start, naming the setting.
import { expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";

test("a blank setting takes its default, as if unset", () => {
  const blank = parseEnv({
    PORT: "",
    QUOTA_GUEST_PER_DAY: " ",
    SHUTDOWN_DRAIN_SECONDS: "",
    MAX_RUNNING_TURNS: "",
    TURN_MAX_SECONDS: "",
    TURN_CHECKPOINT_MS: "",
    MAX_TEXT_LENGTH: "",
    STREAMER_PORT: "",
  });
  const unset = parseEnv({});
  for (const key of [
    "PORT",
    "QUOTA_GUEST_PER_DAY",
    "SHUTDOWN_DRAIN_SECONDS",
    "MAX_RUNNING_TURNS",
    "TURN_MAX_SECONDS",
    "TURN_CHECKPOINT_MS",
    "MAX_TEXT_LENGTH",
    "STREAMER_PORT",
  ] as const) {
    expect(blank[key], key).toEqual(unset[key]);
  }
  expect(unset.MAX_RUNNING_TURNS).toBeGreaterThan(0);
  expect(unset.QUOTA_GUEST_PER_DAY).toBeGreaterThan(0);
  expect(
    parseEnv({
      NODE_ENV: "production",
      OVERLOAD_EVENT_LOOP_DELAY_MS: "",
      AUTH_SECRET: "p".repeat(40),
      NEXTJS_INTERNAL_TOKEN: "q".repeat(40),
    }).OVERLOAD_EVENT_LOOP_DELAY_MS,
  ).toBe(
    parseEnv({ NODE_ENV: "production", AUTH_SECRET: "p".repeat(40), NEXTJS_INTERNAL_TOKEN: "q".repeat(40) })
      .OVERLOAD_EVENT_LOOP_DELAY_MS,
  );
});

test("PORT past 65535 is refused at start, naming it", () => {
  expect(() => parseEnv({ PORT: "70000" })).toThrow(/PORT:/);
});
