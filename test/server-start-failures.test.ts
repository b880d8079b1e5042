// A gateway that cannot start (a database or Redis it cannot reach, a setting
// that fails parsing) says why in one JSON log line naming the setting, never
// the URL's password, and exits with code 1: no unhandled stack trace. Needs no
// PostgreSQL or Redis: the URLs point at a closed port.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GATEWAY_NODE_FLAGS } from "../src/config/node-flags.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const PASSWORD = "s3cret-pw-never-logged";
const CLOSED_POSTGRES = `postgresql://gateway:${PASSWORD}@127.0.0.1:1/app`;
const CLOSED_REDIS = `redis://:${PASSWORD}@127.0.0.1:1`;
const TIMEOUT_MS = 90_000;

interface Outcome {
  code: number | null;
  lines: string[];
  /** Every line parsed as JSON, or `{ notJson: line }`. */
  entries: Array<Record<string, unknown>>;
}

/** Runs `node src/server.ts` as the README does, with only these settings, until it exits. */
function runGateway(env: Record<string, string>): Promise<Outcome> {
  const child = spawn(join(ROOT, "node_modules/.bin/node"), [...GATEWAY_NODE_FLAGS, "src/server.ts"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: process.env.HOME ?? "/tmp",
      PORT: "0",
      HOST: "127.0.0.1",
      STREAMER_PORT: "0",
      LOG_LEVEL: "info",
      AUTH_SECRET: "server-start-failures-secret-at-least-32-chars",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.setEncoding("utf8").on("data", (text: string) => (output += text));
  child.stderr.setEncoding("utf8").on("data", (text: string) => (output += text));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after ${TIMEOUT_MS} ms:\n${output}`));
    }, TIMEOUT_MS - 5_000);
    child.once("close", (code) => {
      clearTimeout(timer);
      const lines = output.split("\n").filter((line) => line.trim() !== "");
      const entries = lines.map((line) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch {
          return { notJson: line };
        }
      });
      resolve({ code, lines, entries });
    });
  });
}

function expectNamed(outcome: Outcome, variable: string) {
  // Log lines only: no stack trace or object dump.
  expect(outcome.entries.filter((entry) => "notJson" in entry)).toEqual([]);
  const errors = outcome.entries.filter((entry) => entry.level === "error" && entry.variable === variable);
  expect(errors.length, outcome.lines.join("\n")).toBeGreaterThanOrEqual(1);
  expect(String(errors[0].msg)).toContain(variable);
  expect(outcome.lines.join("\n")).not.toContain(PASSWORD);
  return errors[0];
}

describe("a gateway that cannot start exits 1 with one log line saying why", () => {
  it(
    "an unreachable DATABASE_URL: named, password masked",
    async () => {
      const outcome = await runGateway({ DATABASE_URL: CLOSED_POSTGRES, WORKERS: "1" });
      expect(outcome.code).toBe(1);
      const error = expectNamed(outcome, "DATABASE_URL");
      expect(error.msg).toContain("127.0.0.1:1");
      expect(error.msg).toContain("***");
    },
    TIMEOUT_MS,
  );

  it(
    "an unreachable REDIS_URL: named, password masked",
    async () => {
      const outcome = await runGateway({ DATA_DIR: "memory://", REDIS_URL: CLOSED_REDIS });
      expect(outcome.code).toBe(1);
      const error = expectNamed(outcome, "REDIS_URL");
      expect(error.msg).toContain("127.0.0.1:1");
    },
    TIMEOUT_MS,
  );

  it(
    "under WORKERS=2 the workers' failure is named and the primary exits 1 as well",
    async () => {
      const outcome = await runGateway({ DATABASE_URL: CLOSED_POSTGRES, REDIS_URL: CLOSED_REDIS, WORKERS: "2" });
      expect(outcome.code).toBe(1);
      expectNamed(outcome, "DATABASE_URL");
      expect(outcome.entries.some((entry) => String(entry.msg).includes("during start-up"))).toBe(true);
    },
    TIMEOUT_MS,
  );

  it(
    "a setting that fails parsing: one line naming it, no stack trace",
    async () => {
      const outcome = await runGateway({ PORT: "abc", DATA_DIR: "memory://" });
      expect(outcome.code).toBe(1);
      expect(outcome.entries, outcome.lines.join("\n")).toHaveLength(1);
      expect(outcome.entries[0]).toMatchObject({ level: "error", variables: ["PORT"] });
      expect(String(outcome.entries[0].msg)).toMatch(/^Invalid configuration: PORT: /);
    },
    TIMEOUT_MS,
  );
});
