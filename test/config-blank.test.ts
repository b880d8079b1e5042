// Settings written blank (`KEY=`, as compose and Kubernetes files write them)
// are unset, so their defaults hold: a blank number read as 0 switched off the
// overload bound and the drain, and zeroed the guests' quota. Out-of-range
// ports, URLs of the wrong kind and size bounds of 0 are refused at start,
// naming the setting.
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

test("URLs of the wrong kind and size bounds of 0 are refused at start, naming the setting", () => {
  for (const [key, value, message] of [
    ["STREAMER_URL", "localhost:3000", /STREAMER_URL: must be a URL such as http:/],
    ["STREAMER_URL", "ftp://127.0.0.1:21", /STREAMER_URL: must be a URL such as http:/],
    ["NEXTJS_URL", ":::", /NEXTJS_URL: must be a URL/],
    ["DATABASE_URL", "mysql://127.0.0.1/x", /DATABASE_URL: must be a URL such as postgresql:/],
    ["REDIS_URL", "127.0.0.1:6379", /REDIS_URL: must be a URL such as redis:/],
    ["AUTH_JWKS_URL", "notaurl", /AUTH_JWKS_URL: must be a URL such as https:/],
    ["OPENAI_BASE_URL", "notaurl", /OPENAI_BASE_URL: must be a URL such as https:/],
    ["GUEST_TOKEN_TTL_SECONDS", "0", /GUEST_TOKEN_TTL_SECONDS:/],
    ["MAX_PAGE_SIZE", "0", /MAX_PAGE_SIZE:/],
    ["MAX_TEXT_LENGTH", "0", /MAX_TEXT_LENGTH:/],
    ["MAX_REQUEST_BYTES", "0", /MAX_REQUEST_BYTES:/],
  ] as const) {
    expect(() => parseEnv({ [key]: value }), `${key}=${value}`).toThrow(message);
  }
  const fine = parseEnv({
    STREAMER_URL: "https://streamer.internal:8443",
    DATABASE_URL: "postgres://u:p@db:5432/chat",
    REDIS_URL: "rediss://cache:6380",
    AUTH_JWKS_URL: "https://auth.example.com/.well-known/jwks.json",
    OPENAI_BASE_URL: "http://127.0.0.1:11434/v1",
  });
  expect(fine.STREAMER_URL).toBe("https://streamer.internal:8443");
});

test("CHAT_MODELS lists the model ids clients may choose; the default must be one of them, or * takes any", () => {
  expect(parseEnv({}).CHAT_MODELS).toEqual(["chat-model", "chat-model-reasoning"]);
  expect(parseEnv({ CHAT_MODELS: " a , b ,", DEFAULT_CHAT_MODEL: "b" }).CHAT_MODELS).toEqual(["a", "b"]);
  expect(parseEnv({ CHAT_MODELS: "*", DEFAULT_CHAT_MODEL: "anything" }).CHAT_MODELS).toBe("*");
  expect(() => parseEnv({ CHAT_MODELS: "a,b" })).toThrow(/DEFAULT_CHAT_MODEL: must be one of CHAT_MODELS/);
  expect(() => parseEnv({ CHAT_MODELS: " , " })).toThrow(/CHAT_MODELS: must list at least one model id/);
});
