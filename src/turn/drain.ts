import { ChatSDKError } from "../errors.ts";
import type { TurnRun } from "./turn-run.ts";

// How soon a refused client may send again: an orchestrator takes a draining
// instance out of rotation at once (its /ready fails too), so a retry reaches
// another instance, or this one restarted.
const RETRY_AFTER_SECONDS = 2;

/** The refusal of a new turn once shutdown has begun, sent before anything is stored or charged. */
export function drainingRefusal(): ChatSDKError {
  return new ChatSDKError(
    "offline:chat",
    `The server is restarting and takes no new messages. Please send yours again in ${RETRY_AFTER_SECONDS} seconds.`,
    { retryable: true, retryAfterSeconds: RETRY_AFTER_SECONDS },
  );
}

export interface DrainOptions {
  /** How long running turns may go on before they are stopped (0: stop them now). */
  graceMs?: number;
  /** Ends the grace early: the turns still running are stopped at once. */
  cutShort?: AbortSignal;
}

export interface DrainReport {
  /** Turns that ended during the grace (finished, failed, or stopped by their user). */
  finished: number;
  /** Turns stopped when the grace ran out (or was cut short), stored as ABORTED. */
  stopped: number;
}

/**
 * Lets the running turns (`running()`, read again as turns end, since one may
 * start while the drain begins) go on until they end or the grace runs out,
 * then stops the rest with `reason`, as stopStream does; resolves once every
 * turn is stored.
 */
export async function drainRuns(
  running: () => TurnRun[],
  reason: string,
  { graceMs = 0, cutShort }: DrainOptions = {},
): Promise<DrainReport> {
  // Each turn seen, with a promise that resolves once it is stored: a failure
  // to store is the turn's to log; here it only means the turn has ended.
  const watched = new Map<TurnRun, Promise<void>>();
  const ended = new Set<TurnRun>();
  const stopped = new Set<TurnRun>();
  const watch = (run: TurnRun) => {
    if (!watched.has(run)) {
      const end = () => void ended.add(run);
      watched.set(run, run.finished.then(end, end));
    }
    return watched.get(run)!;
  };
  const graceOver = new AbortController();
  const timer = setTimeout(() => graceOver.abort(), graceMs);
  const endGrace = () => graceOver.abort();
  cutShort?.addEventListener("abort", endGrace, { once: true });
  if (graceMs <= 0 || cutShort?.aborted) endGrace();
  const over = new Promise<void>((resolve) =>
    graceOver.signal.addEventListener("abort", () => resolve(), { once: true }),
  );
  try {
    for (;;) {
      const runs = running().filter((run) => !ended.has(run));
      if (runs.length === 0) break;
      const storing = runs.map(watch);
      if (graceOver.signal.aborted) {
        for (const run of runs) {
          run.stop(reason);
          stopped.add(run);
        }
        await Promise.all(storing);
      } else {
        await Promise.race([...storing, over]);
      }
    }
  } finally {
    clearTimeout(timer);
    cutShort?.removeEventListener("abort", endGrace);
  }
  return { finished: watched.size - stopped.size, stopped: stopped.size };
}
