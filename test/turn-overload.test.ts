// The overload guard's measured limit: a stalled event loop refuses new turns
// until a window passes with the loop answering again.
import { describe, expect, it } from "vitest";
import { OverloadGuard } from "../src/turn/overload.ts";
import { eventually } from "./support/sse.ts";

/** Holds the event loop, as a CPU-bound burst would. */
function stall(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

function refusalOf(admit: () => unknown): any {
  try {
    admit();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe("OverloadGuard", () => {
  it("refuses with offline:chat while the loop's p99 delay is past OVERLOAD_EVENT_LOOP_DELAY_MS, then admits again", async () => {
    const guard = new OverloadGuard({ maxRunningTurns: 0, eventLoopDelayMs: 100 }, () => 1);
    try {
      expect(guard.reason()).toBeNull();
      await eventually(async () => {
        stall(300);
        return guard.reason() === "event_loop_delay";
      }, 10_000);
      expect(refusalOf(() => guard.admit())?.extensions).toMatchObject({
        code: "offline:chat",
        retryable: true,
        retryAfterSeconds: 5,
      });
      await eventually(async () => guard.reason() === null, 10_000);
    } finally {
      guard.close();
    }
  });

  it("counts MAX_RUNNING_TURNS, the new turn among the counted; 0 is no limit", () => {
    let turns = 1;
    const limited = new OverloadGuard({ maxRunningTurns: 2, eventLoopDelayMs: 0 }, () => turns);
    expect(limited.reason()).toBeNull();
    turns = 2;
    expect(limited.admit()).toBeUndefined();
    expect(limited.reason()).toBe("running_turns");
    turns = 3;
    expect(refusalOf(() => limited.admit())?.extensions).toMatchObject({ code: "offline:chat" });
    const unlimited = new OverloadGuard({ maxRunningTurns: 0, eventLoopDelayMs: 0 }, () => 1_000_000);
    expect(unlimited.reason()).toBeNull();
    expect(unlimited.admit()).toBeUndefined();
  });
});
