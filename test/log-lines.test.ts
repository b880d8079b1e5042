// The log: one JSON line per entry, Yoga's own messages included, and the
// process's secrets never in it, wherever they turn up (a streamer's error
// text echoing its API key).
import { afterEach, expect, test, vi } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { secretsOf } from "../src/config/secrets.ts";
import { log, redactInLogs, setLogLevel, yogaLogger } from "../src/log.ts";

afterEach(() => {
  vi.restoreAllMocks();
  setLogLevel("silent");
});

function captured(work: () => void): string[] {
  const lines: string[] = [];
  vi.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  setLogLevel("debug");
  work();
  return lines;
}

test("the configuration's secrets are redacted from every line", () => {
  const env = parseEnv({
    OPENAI_API_KEY: "sk-LEAKCHECK-OPENAI-1234567890",
    DATABASE_URL: "postgresql://gw:PgPassw0rdZZ@db.example:5432/app",
    REDIS_URL: "redis://:RedisPassw0rd@cache.example:6379",
  });
  redactInLogs(secretsOf(env));
  const lines = captured(() => {
    log.warn("streamer reported an error", {
      errorText: "Incorrect API key provided: Bearer sk-LEAKCHECK-OPENAI-1234567890",
    });
    log.error("connect failed", {
      error: new Error("password authentication failed for PgPassw0rdZZ / RedisPassw0rd"),
    });
  });
  expect(lines).toHaveLength(2);
  const text = lines.join("");
  for (const secret of ["sk-LEAKCHECK-OPENAI-1234567890", "PgPassw0rdZZ", "RedisPassw0rd"])
    expect(text).not.toContain(secret);
  expect(JSON.parse(lines[0]!).errorText).toBe("Incorrect API key provided: Bearer [redacted]");
});

test("Yoga's messages are JSON lines at their level, an error with its name and message", () => {
  const lines = captured(() => {
    yogaLogger.debug("Parsing request to extract GraphQL parameters");
    yogaLogger.error(new Error("boom"));
  });
  const [debug, error] = lines.map((line) => JSON.parse(line));
  expect(debug).toMatchObject({
    level: "debug",
    msg: "Parsing request to extract GraphQL parameters",
    source: "graphql-yoga",
  });
  expect(error).toMatchObject({ level: "error", msg: "boom", error: { name: "Error", message: "boom" } });
});

test("a secret holding a quote or a backslash, a short one, and one percent-encoded in a URL are redacted too", () => {
  const password = 'abc"def\\ghi';
  const env = parseEnv({
    DATABASE_URL: `postgresql://gw:${encodeURIComponent(password)}@db.example:5432/app`,
    REDIS_URL: "redis://:s3cr@cache.example:6379",
  });
  redactInLogs(secretsOf(env));
  const lines = captured(() => {
    log.warn("streamer reported an error", { errorText: `bad key ${password}-x` });
    log.error("connect failed", { url: env.DATABASE_URL, detail: "auth s3cr failed" });
  });
  const text = lines.join("");
  expect(text).not.toContain(JSON.stringify(password).slice(1, -1));
  expect(text).not.toContain(encodeURIComponent(password));
  expect(text).not.toContain("s3cr");
  expect(JSON.parse(lines[0]!).errorText).toBe("bad key [redacted]-x");
});

test("a short secret is redacted in strings only: numbers, keys and the level stay, and the line stays JSON", () => {
  redactInLogs(secretsOf(parseEnv({ DATABASE_URL: "postgresql://gw:info@db.example:5432/app" })));
  redactInLogs(secretsOf(parseEnv({ REDIS_URL: "redis://:1234@cache.example:6379" })));
  const lines = captured(() => log.info("turn info ended", { durationMs: 123456, note: "pin 1234" }));
  const entry = JSON.parse(lines[0]!);
  expect(entry).toMatchObject({
    level: "info",
    msg: "turn [redacted] ended",
    durationMs: 123456,
    note: "pin [redacted]",
  });
});
