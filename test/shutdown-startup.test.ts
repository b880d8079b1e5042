// A SIGTERM while the gateway starts (its database opening, migrations running)
// ends it with a log line and exit code 0, as a drain does, rather than killing
// it silently by the signal (exit 143, nothing logged) while an orchestrator
// replaces it mid-start.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, onTestFinished, test } from "vitest";
import { GATEWAY_NODE_FLAGS } from "../src/config/node-flags.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
// Spawning and creating an embedded database take seconds on a busy machine.
const BOUND_MS = 60_000;

/** `promise`, or a rejection saying what did not happen within BOUND_MS. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`not within ${BOUND_MS} ms: ${what}`)), BOUND_MS);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test("a SIGTERM during start-up exits 0 saying nothing was served", { timeout: 3 * BOUND_MS }, async () => {
  // A fresh embedded database: creating it and applying the migrations takes seconds.
  const dataDir = mkdtempSync(join(tmpdir(), "gateway-start-"));
  const child = spawn(join(ROOT, "node_modules/.bin/node"), [...GATEWAY_NODE_FLAGS, "src/server.ts"], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, PORT: "0", DATA_DIR: dataDir, LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  // Whatever the test's fate (a timeout included), the process and its data go.
  onTestFinished(() => {
    child.kill("SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  });
  let output = "";
  // After `close`, every line it wrote has been read.
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once("close", (code, signal) => resolve([code, signal])),
  );
  // Its first line (the development secrets' warning) comes once it has begun starting.
  await within(
    new Promise<void>((resolve, reject) => {
      const read = (bytes: Buffer) => {
        output += bytes.toString();
        if (output.includes("\n")) resolve();
      };
      child.stdout.on("data", read);
      child.stderr.on("data", read);
      child.once("exit", () => reject(new Error(`exited before starting: ${output}`)));
    }),
    "its first log line",
  );
  expect(output).not.toContain("gateway ready");
  child.kill("SIGTERM");
  const [code, signal] = await within(closed, "its exit after SIGTERM");
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(output).toContain("stopped during start-up: nothing was served yet");
});
