// Following one turn over the network, for clients without React (the hooks
// use it too): sendMessage, or resumeStream for a turn already running, folded
// into a TurnState. A dropped connection is not the end of the turn (the
// gateway keeps generating): the follower resumes from the last seq it holds,
// with a bounded backoff, and the fold drops what it has already seen.
import { GatewayError, type GatewayClient } from "./core.ts";
import {
  ResumeStreamDocument,
  SendMessageDocument,
  StopStreamDocument,
  type SendMessageInput,
} from "./generated/graphql.ts";
import {
  applyStreamEvent,
  failTurn,
  isDone,
  isTerminalEvent,
  resumeState,
  startTurn,
  type ChatMessage,
  type StreamEvent,
  type TurnState,
} from "./stream.ts";

export interface ReconnectOptions {
  /** Connection attempts in a row without an event before the turn is given up as failed (offline:chat). Default 10. */
  attempts?: number;
  /** The first wait; it doubles per attempt up to maxDelayMs, each with jitter. Default 250 ms. */
  delayMs?: number;
  /** Default 5,000 ms (10 attempts span about 30 s, the gateway's bound for ending a crashed instance's turn). */
  maxDelayMs?: number;
}

export interface FollowOptions {
  /** Called with the new state after every change. */
  onUpdate?: (turn: TurnState) => void;
  /** Called with each event the first time it is folded (a resume's overlap is not repeated), before onUpdate. */
  onEvent?: (event: StreamEvent) => void;
  /** Aborting stops following (as close()); the turn goes on at the gateway. */
  signal?: AbortSignal;
  /** How to resume a dropped connection; false: a drop fails the turn. */
  reconnect?: ReconnectOptions | false;
}

export interface RunningTurn {
  /** Resolves with the last state: finished, stopped, failed or ended, or as it was at close(). Never rejects. */
  done: Promise<TurnState>;
  /** The current state. */
  readonly state: TurnState;
  /**
   * Asks the gateway to stop the generation (stopStream); the stream then ends
   * with StreamAborted and the partial answer stored. Before the turn has
   * started, the stop is sent as soon as it starts. True when a turn was stopped.
   */
  stop(): Promise<boolean>;
  /** Stops following: the connection closes and the turn goes on at the gateway (resumable). */
  close(): void;
}

const RECONNECT_DEFAULTS: Required<ReconnectOptions> = { attempts: 10, delayMs: 250, maxDelayMs: 5_000 };

/**
 * Sends a message and follows its stream:
 *
 *   const turn = sendMessage(client, sendMessageInput(chatId, "Hi"), { onUpdate: render });
 *   const final = await turn.done; // final.message is the stored answer
 */
export function sendMessage(client: GatewayClient, input: SendMessageInput, options: FollowOptions = {}): RunningTurn {
  return follow(client, startTurn(input), input, options);
}

/**
 * Follows the chat's running turn from its start (after a reload: pass the
 * chat's stored STREAMING message, shown until the replay rebuilds it). With
 * no turn to resume, `done` resolves with status "ended".
 */
export function resumeStream(
  client: GatewayClient,
  chatId: string,
  options: FollowOptions & { message?: ChatMessage | null } = {},
): RunningTurn {
  return follow(client, resumeState(chatId, options.message ?? null), null, options);
}

/** Follows a turn again from the state held (after close(), or a failure offline): the events after its seq. */
export function resumeTurn(client: GatewayClient, state: TurnState, options: FollowOptions = {}): RunningTurn {
  return follow(client, { ...state, status: "resuming", error: null }, null, options);
}

function follow(
  client: GatewayClient,
  initial: TurnState,
  input: SendMessageInput | null,
  options: FollowOptions,
): RunningTurn {
  const reconnect = options.reconnect === false ? null : { ...RECONNECT_DEFAULTS, ...options.reconnect };
  let state = initial;
  let unsubscribe: (() => void) | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  let failures = 0;
  let following = true;
  let pendingStop: ((stopped: boolean) => void) | null = null;
  let resolve!: (turn: TurnState) => void;
  const done = new Promise<TurnState>((r) => (resolve = r));

  const end = () => {
    following = false;
    if (timer) clearTimeout(timer);
    unsubscribe?.();
    unsubscribe = null;
    options.signal?.removeEventListener("abort", end);
    pendingStop?.(false);
    resolve(state);
  };
  const update = (next: TurnState) => {
    if (next === state) return;
    state = next;
    options.onUpdate?.(state);
    if (isDone(state)) end();
  };

  const requestStop = () =>
    client.request(StopStreamDocument, { chatId: state.chatId }).then(
      (data) => data.stopStream,
      () => false,
    );

  // Each connection gets its own sink; a replaced one's late calls are ignored.
  function connect(send: SendMessageInput | null) {
    let received = 0;
    let live = true;
    const drop = (error: GatewayError) => {
      live = false;
      unsubscribe?.();
      unsubscribe = null;
      lost(error);
    };
    const sink = {
      next(event: StreamEvent) {
        if (!live || !following) return;
        received++;
        // (An event already folded is left to the fold, which skips it.)
        // A terminal event may open a resume from the start: a turn whose events died with a
        // gateway that crashed (older gateways sent no StreamStarted before it).
        const opensStream = event.__typename === "StreamStarted" || (send === null && isTerminalEvent(event));
        // A terminal event after a gap ends the turn all the same: it carries the stored answer
        // (a replay misses events a Redis outage kept from the log, and would miss them again).
        const gap = event.seq > state.seq + 1 && !(send === null && isTerminalEvent(event) && state.seq >= 0);
        if (gap || (event.seq === 0 && !opensStream)) {
          return drop(offline(`The stream skipped from seq ${state.seq} to ${event.seq}.`));
        }
        if (event.__typename === "StreamStarted" && state.userMessage && event.userMessageId !== state.userMessage.id) {
          // A resume after a drop before StreamStarted found another turn: ours never started.
          return update(failTurn(state, notStarted()));
        }
        if (event.seq > state.seq) {
          failures = 0;
          options.onEvent?.(event);
        }
        update(applyStreamEvent(state, event));
        if (event.__typename === "StreamStarted" && pendingStop) {
          // Taken now: a StreamAborted that beats the mutation's answer must not settle it as false.
          const settle = pendingStop;
          pendingStop = null;
          void requestStop().then(settle);
        }
      },
      error(error: GatewayError) {
        if (!live || !following) return;
        live = false;
        // Resuming a message cut before StreamStarted, and no such chat: it never reached the gateway (a new chat's).
        if (send === null && state.userMessage && state.seq < 0 && error.code === "not_found:chat") {
          return update(failTurn(state, notStarted()));
        }
        // A resume refused for a moment (Redis not answering) is tried again; a send's refusal is final.
        lost(error, send === null);
      },
      complete() {
        if (!live || !following) return;
        live = false;
        if (send || received > 0) return lost(offline("The stream ended before its terminal event."));
        // resumeStream with nothing after our seq: no turn left to follow.
        update(
          state.userMessage && state.seq < 0
            ? failTurn(state, notStarted())
            : { ...state, status: "ended", message: null },
        );
      },
    };
    unsubscribe = send
      ? client.subscribe(SendMessageDocument, { input: send }, { ...sink, next: (data) => sink.next(data.sendMessage) })
      : client.subscribe(
          ResumeStreamDocument,
          {
            chatId: state.chatId,
            afterSeq: state.seq < 0 ? null : state.seq,
            ...(state.streamId ? { streamId: state.streamId } : {}),
          },
          {
            ...sink,
            next: (data) => sink.next(data.resumeStream),
          },
        );
  }

  function lost(error: GatewayError, resuming = false) {
    const retry = error.network || (resuming && error.retryable);
    if (!retry || !reconnect || failures >= reconnect.attempts) return update(failTurn(state, error));
    const wait = Math.min(reconnect.maxDelayMs, reconnect.delayMs * 2 ** failures) * (0.5 + Math.random() / 2);
    failures++;
    update({ ...state, status: "resuming" });
    timer = setTimeout(() => {
      timer = null;
      if (following) connect(null);
    }, wait);
  }

  options.signal?.addEventListener("abort", end, { once: true });
  if (options.signal?.aborted) end();
  else connect(input);

  return {
    done,
    get state() {
      return state;
    },
    async stop() {
      if (isDone(state)) return false;
      if (state.seq >= 0) return requestStop();
      // Not started yet: a stopStream now would find nothing to stop.
      return new Promise<boolean>((resolveStop) => {
        const previous = pendingStop;
        pendingStop = (stopped) => {
          pendingStop = null;
          previous?.(stopped);
          resolveStop(stopped);
        };
      });
    },
    close: end,
  };
}

function offline(message: string): GatewayError {
  return new GatewayError([{ message, extensions: { code: "offline:chat" } }], undefined, true);
}

function notStarted(): GatewayError {
  return new GatewayError([
    {
      message: "The connection dropped before the answer started; reload the chat to see whether it did.",
      extensions: { code: "offline:chat" },
    },
  ]);
}
