// .env.example is where README sends an operator for "every setting, with its
// default": a setting missing there is one an operator cannot find, and a value
// written there that is not the default says the wrong default.
import { readFileSync } from "node:fs";
import { expect, test } from "vitest";
import { parseEnv, SETTING_NAMES } from "../src/config/env.ts";

const example = readFileSync(new URL("../.env.example", import.meta.url), "utf8");
const lines = example.split("\n");

test(".env.example names every setting the gateway reads", () => {
  const named = new Set(lines.flatMap((line) => /^#? ?([A-Z][A-Z0-9_]*)=/.exec(line)?.[1] ?? []));
  // NODE_ENV is the platform's, described where it changes a default.
  const missing = SETTING_NAMES.filter((name) => name !== "NODE_ENV" && !named.has(name));
  expect(missing).toEqual([]);
});

test("the values .env.example sets are the defaults", () => {
  const set = Object.fromEntries(
    lines.flatMap((line) => {
      const match = /^([A-Z][A-Z0-9_]*)=(.*)$/.exec(line);
      return match ? [[match[1]!, match[2]!]] : [];
    }),
  );
  expect(Object.keys(set).length).toBeGreaterThan(20);
  const written = parseEnv(set) as Record<string, unknown>;
  const defaults = parseEnv({}) as Record<string, unknown>;
  for (const name of Object.keys(set)) expect([name, written[name]]).toEqual([name, defaults[name]]);
});
