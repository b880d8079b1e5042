// One client turn over SSE, as a user's browser runs it: it records every event,
// when the terminal event came, and can leave mid-way (a closed tab).
import { randomUUID } from "node:crypto";
import {
  RESUME_STREAM,
  sendInput,
  subscribeWithFetch,
  TERMINAL_TYPES,
  type StreamEvent,
} from "../../test/support/sse.ts";

export interface ClientTurn {
  chatId: string;
  /** The bearer token of the turn's user (each turn its own user). */
  token: string;
  events: StreamEvent[];
  startedAt: number;
  /** Milliseconds from the request to the terminal event, when one came. */
  terminalMs?: number;
  /** Resolves once the client saw `n` text deltas (or the turn ended first). */
  reached(n: number): Promise<void>;
  /** Closes the client's connection (the turn goes on server-side). */
  leave(): void;
  /** Resolves when the client's read ended: terminal, drop, leave or time bound. */
  done: Promise<void>;
}

const deltasOf = (events: StreamEvent[]) => events.filter((event) => event.__typename === "TextDelta").length;

export function startTurn(url: string, token: string, timeoutMs = 60_000, chatId = randomUUID()): ClientTurn {
  const controller = new AbortController();
  const events: StreamEvent[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  const wake = (all: boolean) => {
    for (const waiter of [...waiters]) {
      if (all || deltasOf(events) >= waiter.n) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };
  const turn: ClientTurn = {
    chatId,
    token,
    events,
    startedAt: performance.now(),
    reached: (n) =>
      new Promise((resolve) => {
        waiters.push({ n, resolve });
        wake(turn.terminalMs !== undefined);
      }),
    leave: () => controller.abort(),
    done: Promise.resolve(),
  };
  turn.done = subscribeWithFetch(url, sendInput("Tell me a long story.", { chatId }), {
    token,
    signal: AbortSignal.any([controller.signal, AbortSignal.timeout(timeoutMs)]),
    onEvent: (event) => {
      events.push(event);
      if (TERMINAL_TYPES.includes(event.__typename)) turn.terminalMs ??= performance.now() - turn.startedAt;
      wake(false);
    },
  })
    .then(
      () => undefined,
      () => undefined,
    )
    .finally(() => wake(true));
  return turn;
}

/** Resumes a turn the client left, after the last event it saw; the events are appended to `turn.events`. */
export async function resumeTurn(url: string, turn: ClientTurn, timeoutMs = 30_000): Promise<void> {
  const afterSeq = turn.events.at(-1)?.seq ?? 0;
  await subscribeWithFetch(
    url,
    { chatId: turn.chatId, afterSeq },
    {
      token: turn.token,
      query: RESUME_STREAM,
      signal: AbortSignal.timeout(timeoutMs),
      onEvent: (event) => {
        turn.events.push(event);
        if (TERMINAL_TYPES.includes(event.__typename)) turn.terminalMs ??= performance.now() - turn.startedAt;
      },
    },
  ).catch(() => undefined);
}
