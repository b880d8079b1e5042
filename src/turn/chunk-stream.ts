// Streamer bytes to validated UIMessageChunks, with the ai package's own JSON
// parse and schema (with a fast path for the common chunks: chunk-schema.ts),
// over the events upstream-body.ts frames.
import { safeParseJSON, safeValidateTypes, secureJsonParse } from "@ai-sdk/provider-utils";
import { asSchema, uiMessageChunkSchema, type UIMessageChunk } from "ai";
import { simpleChunk, streamerChunkSchema } from "./chunk-schema.ts";
import { ChunkRepair } from "./storable-chunks.ts";
import type { UpstreamBody } from "./upstream-body.ts";
import { UpstreamError } from "./upstream.ts";

export type ReadChunksOptions = {
  /** Longest silence tolerated; SSE keep-alive comments count as activity. */
  idleTimeoutMs: number;
  /**
   * TURN_MAX_BYTES: the turn checks its chunks against it as they come; the body
   * is cut once it holds twice that, framing included, so one huge chunk is
   * refused before it is all read (a chunk is whole only at its end).
   */
  maxBytes?: number;
  signal?: AbortSignal;
};

/**
 * Yields the stream's chunks until `data: [DONE]` or the end of the body;
 * whether the stream ended properly (finish/abort) is the ChunkMapper's report.
 * Text the database cannot store is repaired here (see ChunkRepair).
 * Throws UpstreamError (idle-timeout, malformed, connection-lost), or the
 * signal's reason when aborted. Stopping early or failing cancels the body.
 */
export async function* readChunks(
  body: UpstreamBody,
  { idleTimeoutMs, maxBytes = Infinity, signal }: ReadChunksOptions,
): AsyncGenerator<UIMessageChunk, void, undefined> {
  let idle = false;
  let tooLarge = false;
  let bodyBytes = 0;
  let timer: NodeJS.Timeout | undefined;
  // A streamer busy in a long tool call sends keep-alive comments, which the
  // parser swallows; watching the bytes keeps such a stream from timing out.
  body.onBytes = (size) => {
    timer?.refresh();
    bodyBytes += size;
    if (bodyBytes > 2 * maxBytes && !tooLarge) {
      tooLarge = true;
      stop();
    }
  };
  // The body may be made before the response arrives: silence counts from the headers on.
  body.whenAttached(() => {
    timer = setTimeout(() => {
      idle = true;
      stop();
    }, idleTimeoutMs);
  });
  // Cancelling makes a pending wait end as if the body ended; the checks below tell why.
  function stop() {
    body.cancel();
  }
  signal?.addEventListener("abort", stop, { once: true });
  const repair = new ChunkRepair();

  try {
    for (;;) {
      signal?.throwIfAborted();
      let data: string | null | undefined;
      try {
        while ((data = body.take()) === undefined) await body.wait();
      } catch (error) {
        signal?.throwIfAborted();
        const detail = `connection to the streamer was lost: ${message(error)}`;
        throw new UpstreamError("offline:chat", "connection-lost", detail, { cause: error });
      }
      signal?.throwIfAborted();
      if (idle) {
        throw new UpstreamError("offline:chat", "idle-timeout", `streamer sent nothing for ${idleTimeoutMs} ms`);
      }
      if (tooLarge) {
        throw new UpstreamError("offline:chat", "too-large", `streamer sent more than ${2 * maxBytes} bytes`);
      }
      if (data === null) return;
      // The end marker of the AI SDK's stream (after `finish` and what the Chat SDK writes
      // after it, such as its data-usage part): a connection left open after it does not hold the turn.
      if (data === "[DONE]") {
        await bodyEnd(body);
        return;
      }
      const parsed = parseChunk(data);
      const chunk = parsed instanceof Promise ? await parsed : parsed;
      if (chunk === "skip") continue;
      for (const repaired of repair.repair(chunk)) yield repaired;
      if (chunk.type === "finish") {
        // The message is complete: what may follow (the Chat SDK's data-usage part, `[DONE]`)
        // comes at once, and a streamer silent after it does not hold the turn for the idle timeout.
        clearTimeout(timer);
        timer = setTimeout(stop, AFTER_FINISH_MS);
        continue;
      }
      // Time the caller spent on the chunk is not the streamer's silence.
      timer?.refresh();
    }
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener("abort", stop);
    stop();
  }
}

// How long the body may go on after `[DONE]` (its end normally follows at once);
// ending by itself, its connection is reused.
const END_GRACE_MS = 1_000;
// How long a streamer may be silent after `finish`: the Chat SDK writes its
// data-usage part from its own onFinish, after its database write.
const AFTER_FINISH_MS = 5_000;

/** Waits for the body to end, dropping what it still sends, for END_GRACE_MS at most. */
async function bodyEnd(body: UpstreamBody): Promise<void> {
  const grace = setTimeout(() => body.cancel(), END_GRACE_MS);
  try {
    for (;;) {
      let data: string | null | undefined;
      while ((data = body.take()) === undefined) await body.wait();
      if (data === null) return;
    }
  } catch {
    // The body failed after the answer ended: nothing of the answer is lost.
  } finally {
    clearTimeout(grace);
  }
}

/**
 * The chunk as safeParseJSON with streamerChunkSchema would judge it (the same
 * JSON parse, the same schema and fast path), parsed once; a common chunk at
 * once, without the two promises of the full path.
 */
function parseChunk(data: string): UIMessageChunk | Promise<UIMessageChunk | "skip"> {
  let value: unknown;
  try {
    value = secureJsonParse(data);
  } catch {
    // Not JSON: safeParseJSON reports it as it always has.
    return judged(safeParseJSON({ text: data, schema: streamerChunkSchema }));
  }
  return simpleChunk(value) ?? judged(safeValidateTypes({ value, schema: streamerChunkSchema }));
}

async function judged(
  validation: Promise<{ success: true; value: UIMessageChunk } | { success: false; rawValue: unknown; error: unknown }>,
): Promise<UIMessageChunk | "skip"> {
  const result = await validation;
  return result.success ? result.value : await refusedChunk(result.rawValue, result.error);
}

/**
 * What to make of a chunk the schema refused: new chunk types are skipped
 * (streamers on a newer AI SDK will send them); a finish reason newer than
 * this ai version passes as its string. Anything else is malformed.
 */
async function refusedChunk(raw: unknown, error: unknown): Promise<UIMessageChunk | "skip"> {
  const type = chunkType(raw);
  if (type !== null && !isKnownChunkType(type)) return "skip";
  if (type === "finish") {
    const { finishReason, ...rest } = raw as Record<string, unknown>;
    const schema = asSchema(uiMessageChunkSchema);
    const retried = typeof finishReason === "string" ? await schema.validate?.(rest) : undefined;
    if (retried?.success) return { ...retried.value, finishReason } as UIMessageChunk;
  }
  const what = type === null ? "not a JSON chunk object" : `invalid "${type}" chunk`;
  throw new UpstreamError("offline:chat", "malformed", `malformed chunk from streamer: ${what}`, { cause: error });
}

function chunkType(raw: unknown): string | null {
  const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
  return typeof type === "string" ? type : null;
}

// Typed as a record over the union, so upgrading `ai` flags types added to it.
const knownChunkTypes: Record<Exclude<UIMessageChunk["type"], `data-${string}`>, true> = {
  start: true,
  finish: true,
  abort: true,
  error: true,
  "message-metadata": true,
  "start-step": true,
  "finish-step": true,
  "reset-step": true,
  "text-start": true,
  "text-delta": true,
  "text-end": true,
  "reasoning-start": true,
  "reasoning-delta": true,
  "reasoning-end": true,
  "tool-input-start": true,
  "tool-input-delta": true,
  "tool-input-available": true,
  "tool-input-error": true,
  "tool-approval-request": true,
  "tool-approval-response": true,
  "tool-output-available": true,
  "tool-output-error": true,
  "tool-output-denied": true,
  "source-url": true,
  "source-document": true,
  file: true,
  "reasoning-file": true,
  custom: true,
  "steering-message": true,
};

function isKnownChunkType(type: string): boolean {
  return type.startsWith("data-") || Object.hasOwn(knownChunkTypes, type);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}
