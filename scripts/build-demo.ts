// Builds the demo page (client/demo, with the hooks in client/) into dist/demo,
// which the gateway serves at /. npm install runs it (postinstall), so a fresh
// clone serves the demo after `npm install && npm start`; `npm run build:demo`
// rebuilds it by hand. Without the dev dependencies (npm ci --omit=dev) it skips.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";

const root = new URL("../", import.meta.url);
export const demoConfigFile = fileURLToPath(new URL("client/demo/vite.config.ts", root));
export const demoOutDir = fileURLToPath(new URL("dist/demo/", root));
const sources = [fileURLToPath(new URL("client/", root)), fileURLToPath(new URL("package-lock.json", root))];

function newestMtime(path: string): number {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(`${path}/${entry}`));
  return newest;
}

/** True when dist/demo is missing or older than a file it is built from. */
export function demoIsStale(): boolean {
  const index = `${demoOutDir}index.html`;
  if (!existsSync(index)) return true;
  const built = statSync(index).mtimeMs;
  return sources.some((source) => existsSync(source) && newestMtime(source) > built);
}

/**
 * Builds the demo with Vite, in a child process (Vite bundles React's
 * development build unless NODE_ENV is production, and vitest sets it to test);
 * with `onlyIfStale`, only when a source is newer than the build.
 */
export function buildDemo({ onlyIfStale = false } = {}): "built" | "fresh" {
  if (onlyIfStale && !demoIsStale()) return "fresh";
  // Browser test files run in parallel workers: one builds, the others wait and find it fresh.
  const release = lockDemoBuild();
  try {
    if (onlyIfStale && !demoIsStale()) return "fresh";
    execFileSync(process.execPath, [fileURLToPath(import.meta.url)], {
      env: { ...process.env, NODE_ENV: "production" },
      stdio: ["ignore", "ignore", "inherit"],
    });
    return "built";
  } finally {
    release();
  }
}

const LOCK_BOUND_MS = 120_000;

/** A directory as a cross-process lock (mkdir is atomic); one left by a killed build is taken over after the bound. */
function lockDemoBuild(): () => void {
  const lock = fileURLToPath(new URL("dist/.demo-build.lock", root));
  mkdirSync(dirname(lock), { recursive: true });
  const release = () => rmSync(lock, { recursive: true, force: true });
  for (;;) {
    try {
      mkdirSync(lock);
      return release;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    let heldFor = 0;
    try {
      heldFor = Date.now() - statSync(lock).mtimeMs;
    } catch {
      continue; // released meanwhile
    }
    if (heldFor > LOCK_BOUND_MS) release();
    else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
  }
}

async function viteOrNull(): Promise<typeof import("vite") | null> {
  try {
    return await import("vite");
  } catch {
    return null;
  }
}

if (import.meta.main) {
  process.env.NODE_ENV = "production";
  const vite = await viteOrNull();
  if (!vite) {
    console.log("build-demo: vite is not installed (production install?): the demo page is not built.");
  } else {
    const started = Date.now();
    await vite.build({ configFile: demoConfigFile, mode: "production", logLevel: "warn" });
    console.log(`build-demo: built the demo page into dist/demo in ${Date.now() - started} ms`);
  }
}
