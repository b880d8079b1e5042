// The schema the streamer's chunks are read with: the ai package's own
// (uiMessageChunkSchema, a zod union validated asynchronously), with a fast
// path for the chunks nearly every event is: plain text and reasoning deltas,
// and the start and end of each part and step. The fast path accepts exactly
// what the union's member for that type accepts without its optional keys (a
// loose object: other keys pass through); anything else, including such a
// chunk with providerMetadata, goes to the ai schema.
import { asSchema, jsonSchema, uiMessageChunkSchema, type Schema, type UIMessageChunk } from "ai";

const full = asSchema(uiMessageChunkSchema);

type Validation = { success: true; value: UIMessageChunk } | { success: false; error: Error };

// Chunk types whose union member is a loose object of `type`, these string
// fields in this order, and optional keys the fast path leaves to zod
// (providerMetadata, text-end's citations): the chunks of every step.
const SIMPLE: Record<string, { fields: readonly string[]; optional: readonly string[] }> = {
  "text-delta": { fields: ["id", "delta"], optional: ["providerMetadata"] },
  "reasoning-delta": { fields: ["id", "delta"], optional: ["providerMetadata"] },
  "text-start": { fields: ["id"], optional: ["providerMetadata"] },
  "reasoning-start": { fields: ["id"], optional: ["providerMetadata"] },
  "text-end": { fields: ["id"], optional: ["citations", "providerMetadata"] },
  "reasoning-end": { fields: ["id"], optional: ["providerMetadata"] },
  "start-step": { fields: [], optional: [] },
  "finish-step": { fields: [], optional: [] },
};

/**
 * The chunk copied with its keys in zod's order (the member's own first, then
 * the others as they came), when the fast path can judge it; null otherwise.
 */
function simpleChunk(value: unknown): UIMessageChunk | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  const chunk = value as Record<string, unknown>;
  const shape = typeof chunk.type === "string" && Object.hasOwn(SIMPLE, chunk.type) ? SIMPLE[chunk.type] : undefined;
  if (!shape) return null;
  for (const key of shape.optional) if (Object.hasOwn(chunk, key)) return null;
  const copy: Record<string, unknown> = { type: chunk.type };
  for (const field of shape.fields) {
    if (typeof chunk[field] !== "string") return null;
    copy[field] = chunk[field];
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
