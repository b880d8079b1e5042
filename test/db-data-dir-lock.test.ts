// Two gateway processes on one DATA_DIR each worked on their own copy of the
// embedded database: a chat created through one was unknown to the other, and
// whichever wrote its files last overwrote the other's. The second is refused
// at start, naming the first; a lock left by a process that died is taken over.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { openDatabase } from "../src/db/client.ts";

const dir = mkdtempSync(join(tmpdir(), "gw-data-dir-lock-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a DATA_DIR in use by another live process is refused, naming it; free again once it closes", async () => {
  // Another process holding the directory: a child that stays alive.
  const other = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { stdio: "ignore" });
  try {
    writeFileSync(join(dir, "gateway.lock"), String(other.pid));
    await expect(openDatabase({ dataDir: dir })).rejects.toThrow(
      new RegExp(`DATA_DIR .* is in use by process ${other.pid}.*DATABASE_URL`),
    );
  } finally {
    other.kill();
    await new Promise((resolve) => other.once("exit", resolve));
  }
  // Its process gone, the lock is stale: taken over.
  const first = await openDatabase({ dataDir: dir });
  try {
    const lockedOut = spawn(
      process.execPath,
      [
        "--input-type=module",
        "-e",
        `import { openDatabase } from ${JSON.stringify(new URL("../src/db/client.ts", import.meta.url).href)};
         openDatabase({ dataDir: ${JSON.stringify(dir)} }).then(() => process.exit(0), (e) => { console.error(e.message); process.exit(3); });`,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    let stderr = "";
    lockedOut.stderr.on("data", (chunk) => (stderr += chunk));
    const code = await new Promise((resolve) => lockedOut.once("exit", resolve));
    expect(code).toBe(3);
    expect(stderr).toContain(`is in use by process ${process.pid}`);
  } finally {
    await first.close();
  }
  const again = await openDatabase({ dataDir: dir });
  await again.close();
}, 60_000);
