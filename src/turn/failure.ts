// What a user is told when the model's side fails. The streamer's address, its
// error text and error body may hold stacks, paths, SQL or keys: they go to the
// log with the stream id, and StreamFailed.reason is a fixed sentence per kind
// of failure, the same in proxy and direct mode.
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import type { StreamReport } from "./chunk-events.ts";
import type { PreparedTurn } from "./prepare.ts";
import { TOO_LONG } from "./turn-endings.ts";
import { UpstreamError, type UpstreamErrorCode, type UpstreamErrorKind } from "./upstream.ts";

export type TurnFailure = { code: string; reason: string };

/** How a turn's stream ended: failed, stopped (the reason), or neither (finished). */
export type Ending = { failure: TurnFailure | null; stopped: string | null };

const UNAVAILABLE = "The model's service is unavailable. Try again shortly.";
const UNREADABLE = "The model's service sent an answer that could not be read. Try again.";

const BY_KIND: Record<Exclude<UpstreamErrorKind, "status">, string> = {
  unreachable: UNAVAILABLE,
  "first-byte-timeout": "The model's service did not answer in time. Try again shortly.",
  "not-a-stream": UNREADABLE,
  malformed: UNREADABLE,
  "connection-lost": "The connection to the model's service was lost. Try again.",
  "idle-timeout": "The model's service stopped responding. Try again.",
  "too-large": TOO_LONG,
};

/** For `status`: what the streamer's HTTP status means, as its code says. */
const BY_STATUS_CODE: Record<UpstreamErrorCode, string> = {
  "offline:chat": UNAVAILABLE,
  "rate_limit:chat": "The model's service is busy. Wait a moment and try again.",
  "bad_request:api": "The model's service refused this message. Try rephrasing or shortening it.",
};

const STREAMER_ERROR_REASON = "The model ran into an error while answering. Try again.";
const UNEXPECTED_REASON = "Something went wrong while answering. Try again.";

/** The StreamFailed for an error thrown while reading the model's chunks. */
export function upstreamFailure(error: unknown, turn: Pick<PreparedTurn, "streamId">): TurnFailure {
  metrics.upstreamError(error instanceof UpstreamError ? error.kind : "unexpected");
  if (error instanceof UpstreamError) {
    log.warn("streamer failed", {
      streamId: turn.streamId,
      code: error.code,
      kind: error.kind,
      status: error.status,
      detail: error.message,
      cause: causeOf(error),
    });
    const reason = error.kind === "status" ? BY_STATUS_CODE[error.code] : BY_KIND[error.kind];
    return { code: error.code, reason };
  }
  log.error("turn stream failed", { streamId: turn.streamId, error });
  return { code: "offline:chat", reason: UNEXPECTED_REASON };
}

/** The StreamFailed for a stream whose chunks the fold could not apply in order (a malformed stream). */
export function misorderedFailure(error: unknown, turn: Pick<PreparedTurn, "streamId">): TurnFailure {
  return upstreamFailure(
    new UpstreamError("offline:chat", "malformed", "malformed stream from streamer: a chunk out of order", {
      cause: error,
    }),
    turn,
  );
}

/** The StreamFailed for a stream that carried an `error` chunk (the text of the last one). */
export function streamerErrorFailure(errorText: string, turn: Pick<PreparedTurn, "streamId">): TurnFailure {
  metrics.upstreamError("error-chunk");
  log.warn("streamer reported an error", { streamId: turn.streamId, errorText });
  return { code: "offline:chat", reason: STREAMER_ERROR_REASON };
}

export const UNFINISHED_REASON = "The model's service stopped sending before the answer was complete. Try again.";

/**
 * The StreamFailed for a stream that ended without `finish` or `abort`. One
 * that carried no chunk at all was no answer the gateway could read (a body
 * that is not an event stream, sent without a content type).
 */
export function unfinishedFailure(chunks: number, turn: Pick<PreparedTurn, "streamId">): TurnFailure {
  if (chunks === 0) {
    return upstreamFailure(new UpstreamError("offline:chat", "not-a-stream", "streamer's answer held no chunk"), turn);
  }
  metrics.upstreamError("unfinished");
  log.warn("streamer's stream ended before finish", { streamId: turn.streamId, chunks });
  return { code: "offline:chat", reason: UNFINISHED_REASON };
}

const STREAMER_ABORT_REASON = "The model's service stopped the answer.";

/**
 * StreamAborted.reason for a stream the streamer ended with an `abort` chunk:
 * its own reason may name internals, so it goes to the log.
 */
export function streamerAbortReason(reason: string | null, turn: Pick<PreparedTurn, "streamId">): string {
  log.warn("streamer aborted the turn", { streamId: turn.streamId, reason });
  return STREAMER_ABORT_REASON;
}

/** The start of what the library said (a JSON parse error quotes the line), for the log. */
function causeOf(error: UpstreamError): string | undefined {
  const { cause } = error;
  if (cause === undefined) return undefined;
  return (cause instanceof Error ? cause.message : String(cause)).slice(0, 500);
}

/** How a stream read to its end ended, by its report: finished, stopped by the streamer, or failed. */
export function streamEnding(report: StreamReport, chunks: number, turn: Pick<PreparedTurn, "streamId">): Ending {
  if (report.errorText !== null) return { failure: streamerErrorFailure(report.errorText, turn), stopped: null };
  if (report.ended === "abort") return { failure: null, stopped: streamerAbortReason(report.abortReason, turn) };
  // "interrupted": the AI SDK's reason for a provider stream that ended without its completion signal.
  if (report.ended !== "finish" || report.finishReason === "interrupted") {
    return { failure: unfinishedFailure(chunks, turn), stopped: null };
  }
  return { failure: null, stopped: null };
}
