import { monitorEventLoopDelay } from "node:perf_hooks";
import { ChatSDKError } from "../errors.ts";
import { metrics } from "../metrics.ts";
import { localBound, WorkerTurnSlots, type RunningTurnBound, type TurnSlotChannel } from "./turn-slots.ts";

// How soon a client refused for overload may send again: about the time a
// load balancer takes to move new turns elsewhere once /ready fails, and
// running turns take to make room.
const RETRY_AFTER_SECONDS = 5;
// The event-loop delay is judged over windows this long: short enough to
// refuse within a second or two of a stall, long enough to hold ~100 samples.
const WINDOW_MS = 1_000;
const RESOLUTION_MS = 10;

export interface OverloadLimits {
  /** Turns running or being prepared at once; 0: no limit. */
  maxRunningTurns: number;
  /** p99 event-loop delay over the last window past which new turns are refused; 0: not measured. */
  eventLoopDelayMs: number;
  /** In a worker: its primary, which shares out the instance's maxRunningTurns (see turn-slots.ts). */
  instanceSlots?: { channel: TurnSlotChannel };
}

type Reason = "running_turns" | "event_loop_delay";

/**
 * Whether this instance takes a new turn: not past MAX_RUNNING_TURNS (across
 * its workers, when it has several), and the event loop's p99 delay over the
 * last window not past OVERLOAD_EVENT_LOOP_DELAY_MS. Running turns are never
 * touched: refusing new ones is what keeps their latency. `count` is the
 * turns running or being prepared in this process.
 */
export class OverloadGuard {
  private readonly bound: RunningTurnBound;
  private readonly delay: ReturnType<typeof monitorEventLoopDelay> | null = null;
  private readonly timer: NodeJS.Timeout | null = null;
  private loopDelayed = false;

  constructor(limits: OverloadLimits, count: () => number) {
    const shared = limits.maxRunningTurns > 0 ? limits.instanceSlots : undefined;
    this.bound = shared ? new WorkerTurnSlots(shared.channel, count) : localBound(limits.maxRunningTurns, count);
    if (limits.eventLoopDelayMs > 0) {
      const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
      delay.enable();
      this.delay = delay;
      this.timer = setInterval(() => {
        this.loopDelayed = delay.count > 0 && delay.percentile(99) / 1e6 > limits.eventLoopDelayMs;
        delay.reset();
      }, WINDOW_MS).unref();
    }
  }

  /** Why a new turn would be refused now, or null: what /ready tells. */
  reason(): Reason | null {
    if (this.bound.full()) return "running_turns";
    return this.loopDelayed ? "event_loop_delay" : null;
  }

  /**
   * Throws (or rejects with) `offline:chat` with a retry hint when the new
   * turn, already counted, does not fit; called before it stores or charges
   * anything. Synchronous unless a worker must ask its primary for a slot.
   */
  admit(): void | Promise<void> {
    if (this.loopDelayed) refuse("event_loop_delay");
    const fits = this.bound.fits();
    if (fits === true) return;
    if (fits === false) refuse("running_turns");
    return (fits as Promise<boolean>).then((granted) => {
      if (!granted) refuse("running_turns");
    });
  }

  close(): void {
    this.bound.close?.();
    if (this.timer) clearInterval(this.timer);
    this.delay?.disable();
  }
}

function refuse(reason: Reason): never {
  metrics.refusedForOverload(reason);
  throw new ChatSDKError(
    "offline:chat",
    `The server is busy and takes no new messages for now. Please send yours again in ${RETRY_AFTER_SECONDS} seconds.`,
    { retryable: true, retryAfterSeconds: RETRY_AFTER_SECONDS },
  );
}
