// PostgreSQL's jsonb refuses U+0000 and lone UTF-16 surrogates (which only JSON
// escapes can carry), so one such character in a streamer's chunk made the
// whole answer unstorable. They become U+FFFD as each chunk arrives, before it
// is mapped or kept: the live events, a resumed stream and the stored answer
// then hold the same text.
import type { UIMessageChunk } from "ai";
import { MAX_JSON_DEPTH } from "../config/json-depth.ts";
import { isStorable } from "../db/storable-text.ts";
import { log } from "../log.ts";
import { isFileUrl, isSourceUrl } from "../source-urls.ts";
import { UpstreamError } from "./upstream.ts";

export const REPLACEMENT_CHARACTER = "\uFFFD";

/** `text` with U+0000 and lone surrogates replaced by U+FFFD. */
export function storableText(text: string): string {
  return isStorable(text) ? text : text.toWellFormed().replaceAll("\0", REPLACEMENT_CHARACTER);
}

/**
 * `value` with every string in it, keys included, made storable. A value that
 * already was is returned as is, uncopied: the common case costs one walk.
 * A value nested deeper than MAX_JSON_DEPTH is a malformed chunk: the
 * database could not store it, and the walk stops there, well within the stack.
 */
export function storableValue<T>(value: T): T {
  return storableAt(value, 1);
}

function storableAt<T>(value: T, depth: number): T {
  if (typeof value === "string") return storableText(value) as T;
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_JSON_DEPTH) throw tooDeep();
  if (Array.isArray(value)) {
    let copy: unknown[] | null = null;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const fixed = storableAt(item, depth + 1);
      if (fixed !== item) (copy ??= value.slice())[i] = fixed;
    }
    return (copy ?? value) as T;
  }
  const record = value as Record<string, unknown>;
  let dirty = false;
  for (const key in record) {
    const item = record[key];
    if (!isStorable(key) || (typeof item === "string" ? !isStorable(item) : storableAt(item, depth + 1) !== item)) {
      dirty = true;
      break;
    }
  }
  if (!dirty) return value;
  return Object.fromEntries(
    Object.entries(record).map(([key, item]) => [storableText(key), storableAt(item, depth + 1)]),
  ) as T;
}

function tooDeep(): UpstreamError {
  const detail = `malformed chunk from streamer: arrays and objects nested deeper than ${MAX_JSON_DEPTH} levels`;
  return new UpstreamError("offline:chat", "malformed", detail);
}

type StreamedDelta = Extract<UIMessageChunk, { type: "text-delta" | "reasoning-delta" | "tool-input-delta" }>;

const none: UIMessageChunk[] = [];

/** A part whose URL no stored part may hold (source-urls.ts) is left out, the scheme logged. */
function dropped(what: string, url: string): UIMessageChunk[] {
  log.warn(`dropped ${what} the streamer sent with a URL readers should not follow`, {
    scheme: URL.parse(url)?.protocol ?? "(not a URL)",
  });
  return none;
}

/**
 * Makes a stream's chunks storable, in order. A surrogate pair cut in two
 * across deltas of one part (a streamer that slices text by UTF-16 units) is
 * joined, not replaced: a delta's trailing high surrogate waits for the part's
 * next delta, and becomes U+FFFD only if the part (or its step, or the stream,
 * at finish or abort) ends first. A body that breaks off loses such a waiting half.
 */
export class ChunkRepair {
  /** Waiting high surrogates by part; null while none waits (nearly always). */
  private waiting: Map<string, { chunk: StreamedDelta; half: string }> | null = null;

  /** The chunks to pass on for `chunk`: usually just it, none while it waits for its other half. */
  repair(chunk: UIMessageChunk): UIMessageChunk[] {
    switch (chunk.type) {
      case "text-delta":
      case "reasoning-delta":
      case "tool-input-delta":
        return this.delta(chunk);
      // A part ends at its end chunk, or, when a streamer leaves that out, where a part of
      // the same id starts again or the step ends.
      case "text-start":
      case "text-end":
        return this.endPart(`text-delta:${chunk.id}`, chunk);
      case "reasoning-start":
      case "reasoning-end":
        return this.endPart(`reasoning-delta:${chunk.id}`, chunk);
      case "tool-input-start":
      case "tool-input-available":
      case "tool-input-error":
        return this.endPart(`tool-input-delta:${chunk.toolCallId}`, chunk);
      case "finish-step":
      case "finish":
      case "abort":
        return this.endAll(chunk);
      case "source-url":
        if (isSourceUrl(chunk.url)) return [storableValue(chunk)];
        return dropped("a source", chunk.url);
      case "file":
      case "reasoning-file":
        if (isFileUrl(chunk.url)) return [storableValue(chunk)];
        return dropped("a file", chunk.url);
      default:
        return [storableValue(chunk)];
    }
  }

  private delta(chunk: StreamedDelta): UIMessageChunk[] {
    const key = `${chunk.type}:${partOf(chunk)}`;
    let text = textOf(chunk);
    const waiting = this.waiting?.get(key);
    if (waiting) {
      this.waiting!.delete(key);
      text = waiting.half + text;
    }
    if (isHighSurrogate(text.charCodeAt(text.length - 1))) {
      (this.waiting ??= new Map()).set(key, { chunk, half: text.slice(-1) });
      text = text.slice(0, -1);
      if (text === "" && !("providerMetadata" in chunk && chunk.providerMetadata)) return none;
    }
    return [storableValue(text === textOf(chunk) ? chunk : withText(chunk, text))];
  }

  private endPart(key: string, chunk: UIMessageChunk): UIMessageChunk[] {
    const waiting = this.waiting?.get(key);
    if (!waiting) return [storableValue(chunk)];
    this.waiting!.delete(key);
    return [replaced(waiting.chunk), storableValue(chunk)];
  }

  private endAll(chunk: UIMessageChunk): UIMessageChunk[] {
    if (!this.waiting?.size) return [storableValue(chunk)];
    const flushed = [...this.waiting.values()].map(({ chunk }) => replaced(chunk));
    this.waiting = null;
    return [...flushed, storableValue(chunk)];
  }
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

function partOf(chunk: StreamedDelta): string {
  return chunk.type === "tool-input-delta" ? chunk.toolCallId : chunk.id;
}

function textOf(chunk: StreamedDelta): string {
  return chunk.type === "tool-input-delta" ? chunk.inputTextDelta : chunk.delta;
}

function withText(chunk: StreamedDelta, text: string): StreamedDelta {
  return chunk.type === "tool-input-delta" ? { ...chunk, inputTextDelta: text } : { ...chunk, delta: text };
}

/** A delta of the waiting half's part that holds only its replacement. */
function replaced(chunk: StreamedDelta): UIMessageChunk {
  const text = REPLACEMENT_CHARACTER;
  const part = storableText(partOf(chunk));
  return chunk.type === "tool-input-delta"
    ? { type: chunk.type, toolCallId: part, inputTextDelta: text }
    : { type: chunk.type, id: part, delta: text };
}
