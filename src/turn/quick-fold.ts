import type { UIMessage, UIMessageChunk } from "ai";
import { isPlainObject, mergeObjects } from "./merge-metadata.ts";

type Part = UIMessage["parts"][number];
type StreamingText = {
  type: "text" | "reasoning";
  id?: string;
  text: string;
  providerMetadata: unknown;
  state: string;
};

/**
 * The message readUIMessageStream's last snapshot would be for an answer of
 * plain text and reasoning (start, steps, text and reasoning parts, finish,
 * abort), folded by hand as the ai package's processUIMessageStream does
 * (ai 7.0): the same parts with their keys in the same order, and the same
 * message metadata (merged as it merges it), taken as they stood at the last
 * chunk that updates the message. `{ folded: undefined }` when no chunk did
 * (readUIMessageStream yields nothing then); null for any other chunk,
 * citations or a chunk out of order (a delta for a part never started), which
 * only the ai package's own fold may judge.
 *
 * Speed only: a checkpoint folds every running turn's answer every
 * TURN_CHECKPOINT_MS, every turn's answer is folded once more when it ends
 * (its `finish` chunk carrying usage as metadata), and readUIMessageStream
 * builds a pipeline of web streams and clones the message for every chunk
 * (BENCHMARKS.md, "What was tried"). test/turn-quick-fold.test.ts holds it to
 * the ai package's fold.
 */
export function quickFold(
  chunks: readonly UIMessageChunk[],
  { errorsHeard }: { errorsHeard: boolean },
): { folded: UIMessage | undefined } | null {
  let message: UIMessage = fresh("");
  let texts = new Map<string, StreamingText>();
  let reasonings = new Map<string, StreamingText>();
  let folded: UIMessage | undefined;
  const last = lastUpdate(chunks);
  for (let i = 0; i < chunks.length; i++) {
    const chunk = chunks[i];
    switch (chunk.type) {
      case "start":
        if (chunk.messageId != null && chunk.messageId !== message.id) {
          message = fresh(chunk.messageId);
          texts = new Map();
          reasonings = new Map();
        }
        if (!withMetadata(message, chunk.messageMetadata)) return null;
        break;
      case "start-step":
        message.parts.push({ type: "step-start" });
        break;
      case "finish-step":
      case "abort":
        break;
      case "finish":
      case "message-metadata":
        if (!withMetadata(message, chunk.messageMetadata)) return null;
        break;
      case "error":
        // readUIMessageStream only reports it, to an onError this fold does not have.
        if (errorsHeard) return null;
        break;
      case "text-start":
      case "reasoning-start": {
        const part: StreamingText =
          chunk.type === "text-start"
            ? { type: "text", text: "", providerMetadata: chunk.providerMetadata, state: "streaming" }
            : {
                type: "reasoning",
                id: chunk.id,
                text: "",
                providerMetadata: chunk.providerMetadata,
                state: "streaming",
              };
        (chunk.type === "text-start" ? texts : reasonings).set(chunk.id, part);
        message.parts.push(part as Part);
        break;
      }
      case "text-delta":
      case "reasoning-delta": {
        const part = (chunk.type === "text-delta" ? texts : reasonings).get(chunk.id);
        if (!part) return null;
        part.text += chunk.delta;
        part.providerMetadata = chunk.providerMetadata ?? part.providerMetadata;
        break;
      }
      case "text-end":
      case "reasoning-end": {
        const active = chunk.type === "text-end" ? texts : reasonings;
        const part = active.get(chunk.id);
        if (!part || (chunk.type === "text-end" && chunk.citations != null)) return null;
        part.state = "done";
        part.providerMetadata = chunk.providerMetadata ?? part.providerMetadata;
        active.delete(chunk.id);
        break;
      }
      default:
        return null;
    }
    if (i === last) folded = structuredClone(message);
  }
  return { folded };
}

/** The index of the last chunk after which readUIMessageStream yields a snapshot (-1: none). */
function lastUpdate(chunks: readonly UIMessageChunk[]): number {
  for (let i = chunks.length - 1; i >= 0; i--) {
    const chunk = chunks[i];
    if (UPDATES.has(chunk.type)) return i;
    if (
      (chunk.type === "start" || chunk.type === "finish" || chunk.type === "message-metadata") &&
      chunk.messageMetadata != null
    ) {
      return i;
    }
    if (chunk.type === "start" && chunk.messageId != null) return i;
  }
  return -1;
}

const UPDATES = new Set<string>([
  "text-start",
  "text-delta",
  "text-end",
  "reasoning-start",
  "reasoning-delta",
  "reasoning-end",
]);

/**
 * Merges `metadata` into the message's as processUIMessageStream does; false
 * for metadata other than a plain object, which the ai package merges in ways
 * of its own (a string spread into an object).
 */
function withMetadata(message: UIMessage, metadata: unknown): boolean {
  if (metadata == null) return true;
  if (!isPlainObject(metadata)) return false;
  message.metadata = isPlainObject(message.metadata) ? mergeObjects(message.metadata, metadata) : metadata;
  return true;
}

function fresh(id: string): UIMessage {
  return { id, metadata: undefined, role: "assistant", parts: [] };
}
