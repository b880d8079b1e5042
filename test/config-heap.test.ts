// The gateway's heap flags reach every way it is started: `npm start`,
// node:cluster workers (withHeapFlags), and a process started by hand is told.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { HEAP_FLAGS, withHeapFlags } from "../src/config/heap.ts";

it("npm start runs node with every heap flag", () => {
  const start: string = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).scripts.start;
  for (const flag of HEAP_FLAGS) expect(start).toContain(` ${flag} `);
});

it("withHeapFlags adds the flags a process lacks and keeps the ones it set itself", () => {
  expect(withHeapFlags(["--inspect"])).toEqual([...HEAP_FLAGS, "--inspect"]);
  expect(withHeapFlags(["--min-semi-space-size=64"])).toEqual(["--min-semi-space-size=64"]);
});

it("a node started with them has the larger young generation from the start", () => {
  const script = `import { semiSpaceMb } from ${JSON.stringify(new URL("../src/config/heap.ts", import.meta.url).pathname)}; console.log(semiSpaceMb());`;
  const run = (flags: string[]) =>
    Number(execFileSync(process.execPath, [...flags, "--input-type=module", "-e", script], { encoding: "utf8" }));
  expect(run(HEAP_FLAGS)).toBe(16);
  expect(run([])).toBeLessThan(16);
});
