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

describe("OverloadGuard", () => {
  it("refuses with offline:chat while the loop's p99 delay is past OVERLOAD_EVENT_LOOP_DELAY_MS, then admits again", async () => {
    const guard = new OverloadGuard({ maxRunningTurns: 0, eventLoopDelayMs: 100 });
    try {
      expect(guard.reason(0)).toBeNull();
      await eventually(async () => {
        stall(300);
        return guard.reason(0) === "event_loop_delay";
      }, 10_000);
      let refusal: any;
      try {
        guard.refuseIfOverloaded(0);
      } catch (error) {
        refusal = error;
      }
      expect(refusal?.extensions).toMatchObject({ code: "offline:chat", retryable: true, retryAfterSeconds: 5 });
      await eventually(async () => guard.reason(0) === null, 10_000);
    } finally {
      guard.close();
    }
  });

  it("counts MAX_RUNNING_TURNS; 0 is no limit", () => {
    const limited = new OverloadGuard({ maxRunningTurns: 2, eventLoopDelayMs: 0 });
    expect(limited.reason(1)).toBeNull();
    expect(limited.reason(2)).toBe("running_turns");
    expect(new OverloadGuard({ maxRunningTurns: 0, eventLoopDelayMs: 0 }).reason(1_000_000)).toBeNull();
  });
});
