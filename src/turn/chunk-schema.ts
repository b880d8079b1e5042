// The schema the streamer's chunks are read with: the ai package's own
// (uiMessageChunkSchema, a zod union validated asynchronously), with a fast
// path for the chunks of a plain text or reasoning answer: its deltas, the
// start and end of each part, step and message. The fast path accepts exactly
// what the union's member for that type accepts without its optional keys (a
// loose object: other keys pass through); anything else, including such a
// chunk with providerMetadata, goes to the ai schema.
import { asSchema, jsonSchema, uiMessageChunkSchema, type Schema, type UIMessageChunk } from "ai";

const full = asSchema(uiMessageChunkSchema);

type Validation = { success: true; value: UIMessageChunk } | { success: false; error: Error };

type Check = (value: unknown) => boolean;
const isString: Check = (value) => typeof value === "string";
const anything: Check = () => true;
const FINISH_REASONS = new Set(["stop", "length", "content-filter", "tool-calls", "error", "interrupted", "other"]);
const isFinishReason: Check = (value) => typeof value === "string" && FINISH_REASONS.has(value);

/**
 * Chunk types whose union member is a loose object of `type` and these keys,
 * in the member's order ([key, check, required]); a chunk holding a key of
 * `leave` (providerMetadata, text-end's citations) goes to zod. These are
 * every chunk of a plain text or reasoning answer.
 */
const SIMPLE: Record<string, { keys: readonly (readonly [string, Check, boolean])[]; leave: readonly string[] }> = {
  "text-delta": {
    keys: [
      ["id", isString, true],
      ["delta", isString, true],
    ],
    leave: ["providerMetadata"],
  },
  "reasoning-delta": {
    keys: [
      ["id", isString, true],
      ["delta", isString, true],
    ],
    leave: ["providerMetadata"],
  },
  "text-start": { keys: [["id", isString, true]], leave: ["providerMetadata"] },
  "reasoning-start": { keys: [["id", isString, true]], leave: ["providerMetadata"] },
  "text-end": { keys: [["id", isString, true]], leave: ["citations", "providerMetadata"] },
  "reasoning-end": { keys: [["id", isString, true]], leave: ["providerMetadata"] },
  "start-step": { keys: [], leave: [] },
  "finish-step": { keys: [], leave: [] },
  start: {
    keys: [
      ["messageId", isString, false],
      ["messageMetadata", anything, false],
    ],
    leave: [],
  },
  finish: {
    keys: [
      ["finishReason", isFinishReason, false],
      ["messageMetadata", anything, false],
    ],
    leave: [],
  },
};

/**
 * The chunk copied with its keys in zod's order (the member's own first, then
 * the others as they came), when the fast path can judge it; null otherwise.
 */
export function simpleChunk(value: unknown): UIMessageChunk | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const chunk = value as Record<string, unknown>;
  const shape = typeof chunk.type === "string" && Object.hasOwn(SIMPLE, chunk.type) ? SIMPLE[chunk.type] : undefined;
  if (!shape) return null;
  for (const key of shape.leave) if (Object.hasOwn(chunk, key)) return null;
  const copy: Record<string, unknown> = { type: chunk.type };
  for (const [key, check, required] of shape.keys) {
    if (!Object.hasOwn(chunk, key)) {
      if (required) return null;
      continue;
    }
    if (!check(chunk[key])) return null;
    copy[key] = chunk[key];
  }
  for (const key of Object.keys(chunk)) if (!Object.hasOwn(copy, key)) copy[key] = chunk[key];
  return copy as UIMessageChunk;
}

export const streamerChunkSchema: Schema<UIMessageChunk> = jsonSchema<UIMessageChunk>(() => full.jsonSchema, {
  validate: (value): Validation | PromiseLike<Validation> => {
    const chunk = simpleChunk(value);
    return chunk ? { success: true, value: chunk } : (full.validate!(value) as PromiseLike<Validation>);
  },
});
