import type { Server } from "node:http";
import { setTimeout as sleep } from "node:timers/promises";
import { log } from "../log.ts";
import type { RunningGateway } from "../server.ts";

// After the drain: stopping the turns left, storing them, ending the open
// responses and closing the database. 25 s of drain and this stay under
// Kubernetes' default 30 s grace, after which it kills the process.
const EXIT_MARGIN_MS = 4_000;
// A second signal stops the running turns at once; this bounds the rest.
const SECOND_SIGNAL_EXIT_MS = 3_000;
// A terminal's Ctrl-C reaches the whole foreground process group, and `npm
// start` forwards the SIGINT it got to the gateway again: one keypress, two
// signals a few milliseconds apart.
const REPEATED_SIGINT_MS = 500;

/**
 * SIGTERM or SIGINT drains the gateway (see RunningGateway.shutdown) with a
 * grace of `drainMs`, then exits 0. A second signal cuts the grace short.
 * Whatever happens, the process exits within `drainMs` plus a few seconds,
 * with code 1 and a log of what was left when that bound is what ends it.
 */
export function drainOnSignals(gateway: RunningGateway, drainMs: number): void {
  const cutShort = new AbortController();
  let first: { signal: NodeJS.Signals; at: number } | null = null;
  let exitAt = Infinity;
  let deadline: NodeJS.Timeout | undefined;

  const exitWithin = (ms: number) => {
    if (Date.now() + ms >= exitAt) return;
    exitAt = Date.now() + ms;
    clearTimeout(deadline);
    deadline = setTimeout(() => {
      log.error("shutdown ran out of time; exiting with work left", { ...gateway.shutdownProgress() });
      process.exit(1);
    }, ms);
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (!first) {
      first = { signal, at: Date.now() };
      log.info("draining: /ready answers 503, new turns are refused, running turns may finish", {
        signal,
        drainSeconds: drainMs / 1000,
        runningTurns: gateway.shutdownProgress().runningTurns.length,
      });
      exitWithin(drainMs + EXIT_MARGIN_MS);
      gateway.shutdown({ graceMs: drainMs, cutShort: cutShort.signal }).then(
        () => {
          log.info("shut down", { signal });
          process.exit(0);
        },
        (error: unknown) => {
          log.error("shutdown failed", { error });
          process.exit(1);
        },
      );
      return;
    }
    if (signal === "SIGINT" && first.signal === "SIGINT" && Date.now() - first.at < REPEATED_SIGINT_MS) return;
    log.warn("second signal: stopping the running turns and exiting now", { signal });
    cutShort.abort();
    exitWithin(SECOND_SIGNAL_EXIT_MS);
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/**
 * Stops accepting connections, lets the responses under way end (for at most
 * `boundMs`), closing each connection once it is idle, then closes the rest.
 */
export async function closeServer(server: Server, boundMs: number): Promise<void> {
  let closed = false;
  const done = new Promise<void>((resolve) =>
    server.close(() => {
      closed = true;
      resolve();
    }),
  );
  const deadline = Date.now() + boundMs;
  while (!closed && Date.now() < deadline) {
    server.closeIdleConnections();
    await Promise.race([done, sleep(20)]);
  }
  server.closeAllConnections();
  await done;
}
