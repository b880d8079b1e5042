// A followed turn (client/turn.ts) as a ReadableStream of UIMessageChunks, the
// shape the AI SDK's ChatTransport returns: each event once, in order, across
// the follower's reconnects; the terminal event ends the stream, StreamFailed
// and refusals error it with a GatewayError carrying the Chat SDK code.
import type { UIMessageChunk } from "ai";
import { createEventChunker } from "./ai-sdk-chunks.ts";
import { GatewayError } from "./core.ts";
import type { FollowOptions, RunningTurn } from "./turn.ts";

export interface TurnStreamOptions {
  signal?: AbortSignal;
  /**
   * What an abort of `signal` means once the stream is returned: "stop" sends
   * stopStream, "disconnect" only closes the connection (the turn goes on).
   */
  abortMeans: () => "stop" | "disconnect";
  /** Called once the turn is no longer followed (to release its client). */
  onDone?: () => void;
}

export interface TurnStream {
  stream: ReadableStream<UIMessageChunk>;
  /**
   * True at the first event; false when there was no turn to follow (resume
   * found nothing); rejects with the GatewayError of a refusal before any event.
   */
  started: Promise<boolean>;
}

export function turnStream(
  start: (follow: Pick<FollowOptions, "onEvent">) => RunningTurn,
  options: TurnStreamOptions,
): TurnStream {
  const chunker = createEventChunker();
  // Chunks wait here until read: erroring a ReadableStream drops what it still
  // queues, and a StreamFailed's partial answer must reach the reader first.
  const queue: UIMessageChunk[] = [];
  let ending: { error?: Error } | null = null;
  let cancelled = false;
  let wake: (() => void) | null = null;
  let stopping = false;
  let resolveStarted!: (started: boolean) => void;
  let rejectStarted!: (error: GatewayError) => void;
  const started = new Promise<boolean>((resolve, reject) => {
    resolveStarted = resolve;
    rejectStarted = reject;
  });
  // A caller that does not wait for the start (sendMessages) sees the error on the stream.
  started.catch(() => {});

  const notify = () => {
    wake?.();
    wake = null;
  };
  const finish = (error?: Error) => {
    if (ending) return;
    ending = error ? { error } : {};
    notify();
  };

  const stream = new ReadableStream<UIMessageChunk>(
    {
      async pull(controller) {
        while (queue.length === 0 && !ending && !cancelled) await new Promise<void>((resolve) => (wake = resolve));
        if (cancelled) return;
        if (queue.length > 0) {
          for (const chunk of queue.splice(0)) controller.enqueue(chunk);
        } else if (ending?.error) {
          controller.error(ending.error);
        } else {
          controller.close();
        }
      },
      cancel() {
        cancelled = true;
        notify();
        // A stop in flight closes the follower itself once stopStream answered.
        if (!stopping) turn.close();
      },
    },
    { highWaterMark: 0 },
  );

  const turn = start({
    onEvent(event) {
      resolveStarted(true);
      if (ending || cancelled) return;
      queue.push(...chunker.map(event));
      notify();
      if (event.__typename === "StreamFailed") finish(gatewayError(event.code, event.reason));
      else if (event.__typename === "StreamFinished" || event.__typename === "StreamAborted") finish();
    },
  });

  const onAbort = () => {
    if (options.abortMeans() === "stop") {
      stopping = true;
      void turn.stop().finally(() => turn.close());
    } else {
      turn.close();
    }
    finish();
  };
  options.signal?.addEventListener("abort", onAbort, { once: true });
  if (options.signal?.aborted) onAbort();

  void turn.done.then((state) => {
    options.signal?.removeEventListener("abort", onAbort);
    options.onDone?.();
    if (state.status === "ended") {
      resolveStarted(false);
      finish();
    } else if (state.status === "failed" && state.error) {
      const error = gatewayError(state.error.code, state.error.message, state.error.network);
      rejectStarted(error);
      finish(error);
    } else {
      // Closed (an abort or a cancel) before the turn ended.
      resolveStarted(false);
      finish();
    }
  });

  return { stream, started };
}

function gatewayError(code: string, message: string, network = false): GatewayError {
  return new GatewayError([{ message, extensions: { code } }], undefined, network);
}
