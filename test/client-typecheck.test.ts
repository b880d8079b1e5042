// The browser code (client/) type-checks as a bundler sees it, with DOM types
// and no Node types (client/tsconfig.json; CI's own tsc run uses the root
// tsconfig, which checks the same files under Node's module rules).
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { expect, test } from "vitest";

test("client/ type-checks with client/tsconfig.json (npm run typecheck does this too)", () => {
  const root = fileURLToPath(new URL("../", import.meta.url));
  const tsc = fileURLToPath(new URL("../node_modules/typescript/bin/tsc", import.meta.url));
  let output = "";
  try {
    execFileSync(process.execPath, [tsc, "-p", "client/tsconfig.json"], { cwd: root, encoding: "utf8", stdio: "pipe" });
  } catch (error) {
    output = String((error as { stdout?: string }).stdout ?? error);
  }
  expect(output).toBe("");
}, 60_000);
