// The Redis turn log's retries of terminal entries Redis refused
// (src/turn/redis-log-terminals.ts): once the log shuts down, a terminal the
// last flush could not write gets one last try and no timer of its own
// afterwards (the connection is released). A fake connection, no Redis needed.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import { expect, it } from "vitest";
import { UnwrittenTerminals } from "../src/turn/redis-log-terminals.ts";

it("retries nothing on a timer after stop(), even a terminal kept after it", async () => {
  let attempts = 0;
  const commands = Object.assign(new EventEmitter(), {
    defineCommand() {},
    appendTurnEntries: async () => {
      attempts++;
      throw new Error("Connection is closed.");
    },
  });
  const terminals = new UnwrittenTerminals(commands as never, {
    retentionMs: 60_000,
    maxLength: 1_000,
    enqueue: (work) => void work(),
    settled: () => {},
  });
  // As shutdown() does: stop(), the last flush (whose terminal Redis refuses), one last retry.
  terminals.stop();
  terminals.keep("s1", [{ key: "turn:s1", id: "5-0", event: "{}", chunk: "" }] as never);
  await terminals.retry(false);
  expect(attempts).toBe(1);
  // The retries run every second: two would have come by now.
  await sleep(2_300);
  expect(attempts).toBe(1);
});
