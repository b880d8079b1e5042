// Two gateway processes on one DATA_DIR each worked on their own copy of the
// embedded database: a chat created through one was unknown to the other, and
// whichever wrote its files last overwrote the other's. The second is refused
// at start, naming the first; a lock left by a process that died is taken over.
// Also across containers on a shared volume, where the holder's pid means nothing.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, test } from "vitest";
import { openDatabase } from "../src/db/client.ts";
import { lockDataDir } from "../src/db/data-dir-lock.ts";
import { eventually } from "./support/sse.ts";

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

// A gateway in another container on a shared volume (its own pid namespace, often
// pid 1 as this one may be): its pid says nothing here, its heartbeat does.
test("a holder in another pid namespace holds while it touches the lock; once it stops, the lock is taken over", async () => {
  const foreign = mkdtempSync(join(tmpdir(), "gw-data-dir-lock-ns-"));
  const path = join(foreign, "gateway.lock");
  const timings = { heartbeatMs: 100, staleMs: 600 };
  const holder = { pid: process.pid, space: "another-host some-boot pid:[1]", token: "theirs" };
  writeFileSync(path, JSON.stringify(holder));
  const touching = setInterval(() => utimesSync(path, new Date(), new Date()), 100);
  try {
    await expect(lockDataDir(foreign, timings)).rejects.toThrow(
      new RegExp(`in use by process ${process.pid} of another machine or container`),
    );
  } finally {
    clearInterval(touching);
  }
  // Its heartbeat stopped (a container restarted after a crash): taken over once it is stale.
  const release = await lockDataDir(foreign, timings);
  expect(JSON.parse(readFileSync(path, "utf8"))).toMatchObject({ pid: process.pid });
  expect(JSON.parse(readFileSync(path, "utf8")).token).not.toBe("theirs");
  // The holder's own heartbeat keeps it fresh for the next one that looks.
  const touched = statSync(path).mtimeMs;
  await eventually(async () => statSync(path).mtimeMs > touched, 2_000);
  release();
  expect(existsSync(path)).toBe(false);
  rmSync(foreign, { recursive: true, force: true });
}, 30_000);
