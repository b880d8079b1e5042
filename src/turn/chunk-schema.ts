// The schema the streamer's chunks are read with: the ai package's own
// (uiMessageChunkSchema, a zod union validated asynchronously), with a fast
// path for the chunk nearly every event is, a plain text delta. The fast path
// accepts exactly what the union's `text-delta` member accepts without
// providerMetadata (a loose object: other keys pass through); anything else,
// including a text delta with providerMetadata, goes to the ai schema.
import { asSchema, jsonSchema, uiMessageChunkSchema, type Schema, type UIMessageChunk } from "ai";

const full = asSchema(uiMessageChunkSchema);

type Validation = { success: true; value: UIMessageChunk } | { success: false; error: Error };

function isPlainTextDelta(value: unknown): value is UIMessageChunk {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const chunk = value as Record<string, unknown>;
  return (
    chunk.type === "text-delta" &&
    typeof chunk.id === "string" &&
    typeof chunk.delta === "string" &&
    !Object.hasOwn(chunk, "providerMetadata")
  );
}

/** A copy with the keys in zod's order: the schema's own first, then the others as they came. */
function asZodGives(chunk: UIMessageChunk): UIMessageChunk {
  const { type, id, delta, ...rest } = chunk as { type: "text-delta"; id: string; delta: string };
  return { type, id, delta, ...rest };
}

export const streamerChunkSchema: Schema<UIMessageChunk> = jsonSchema<UIMessageChunk>(() => full.jsonSchema, {
  validate: (value): Validation | PromiseLike<Validation> =>
    isPlainTextDelta(value)
      ? { success: true, value: asZodGives(value) }
      : (full.validate!(value) as PromiseLike<Validation>),
});
