// The assistant message to store, folded once from the buffered chunks at the
// end of the turn, which keeps readUIMessageStream off the first-delta path.
import { readUIMessageStream, type UIMessage, type UIMessageChunk } from "ai";
import { quickFold } from "./quick-fold.ts";
import { lacksItsResult } from "./unanswered-tools.ts";

export type AssembleOptions = {
  /** The gateway's assistantMessageId, announced in StreamStarted; it wins over the streamer's. */
  messageId: string;
  /** Hears `error` chunks and chunks the fold could not apply. */
  onError?: (error: unknown) => void;
  /**
   * The turn is still running (a checkpoint): a tool call without its result
   * yet is waiting for it, not interrupted. Its store at the end, or a recovery
   * from this snapshot (settledParts), settles it.
   */
  running?: boolean;
  /**
   * The turn stopped or failed, whatever its chunks say (a failed turn may
   * still have a `finish`: after an `error` chunk, or with reason `interrupted`).
   */
  interrupted?: boolean;
};

export const interruptedToolError = "The tool call was interrupted before it returned.";

/**
 * The last readUIMessageStream snapshot (folded by hand for an answer of
 * plain text and reasoning, see quick-fold.ts), tidied for storage: text and reasoning
 * parts still "streaming" become "done". When the stream did not finish (no
 * `finish`, or an `abort`), tool calls left at "input-available" become
 * "output-error", since a call without a result breaks the next turn's model
 * prompt; "input-streaming" ones stay, convertToModelMessages skips them.
 * A chunk the fold cannot apply (e.g. a delta for a part never started) ends
 * the fold there, as in useChat.
 */
export async function assembleMessage(
  chunks: readonly UIMessageChunk[],
  { messageId, onError, running = false, interrupted: endedEarly = false }: AssembleOptions,
): Promise<UIMessage> {
  const merged = mergeDeltas(chunks);
  const quick = quickFold(merged, { errorsHeard: onError !== undefined });
  const last = quick ? quick.folded : await lastSnapshot(merged, onError);
  const interrupted =
    !running &&
    (endedEarly || !chunks.some((chunk) => chunk.type === "finish") || chunks.some((chunk) => chunk.type === "abort"));
  const message = last ?? { id: messageId, role: "assistant", parts: [] };
  return { ...message, id: messageId, parts: settledParts(message.parts, interrupted) };
}

/**
 * Whether an unfinished answer shows anything worth keeping: a part besides
 * step boundaries and text or reasoning begun with no text (a stop right
 * after the model started stores no answer, rather than an empty one).
 */
export function showsAnything(parts: UIMessage["parts"]): boolean {
  return parts.some(
    (part) => part.type !== "step-start" && !((part.type === "text" || part.type === "reasoning") && part.text === ""),
  );
}

/** The parts as an ended turn stores them (see assembleMessage); `interrupted`: the stream did not finish. */
export function settledParts(parts: UIMessage["parts"], interrupted: boolean): UIMessage["parts"] {
  return parts.map((part) => settled(part, interrupted));
}

async function lastSnapshot(
  chunks: readonly UIMessageChunk[],
  onError: ((error: unknown) => void) | undefined,
): Promise<UIMessage | undefined> {
  const stream = new ReadableStream<UIMessageChunk>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  let last: UIMessage | undefined;
  for await (const snapshot of readUIMessageStream({ stream, onError, terminateOnError: false })) {
    last = snapshot;
  }
  return last;
}

function settled(part: UIMessage["parts"][number], interrupted: boolean): UIMessage["parts"][number] {
  if ((part.type === "text" || part.type === "reasoning") && part.state === "streaming") {
    return { ...part, state: "done" };
  }
  if (interrupted && lacksItsResult(part)) {
    return { ...part, state: "output-error", errorText: interruptedToolError } as UIMessage["parts"][number];
  }
  return part;
}

type DeltaChunk = Extract<UIMessageChunk, { type: "text-delta" | "reasoning-delta" }>;

/**
 * Joins runs of text or reasoning deltas of one part into one delta: the fold
 * yields the same message, but readUIMessageStream clones the whole message
 * for every chunk, which made a long answer's fold quadratic (measured).
 * Deltas carrying provider metadata are kept as they are.
 */
export function mergeDeltas(chunks: readonly UIMessageChunk[]): UIMessageChunk[] {
  const merged: UIMessageChunk[] = [];
  let run: DeltaChunk | null = null;
  for (const chunk of chunks) {
    const mergeable = (chunk.type === "text-delta" || chunk.type === "reasoning-delta") && !chunk.providerMetadata;
    if (mergeable && run && run.type === chunk.type && run.id === chunk.id) {
      run.delta += chunk.delta;
      continue;
    }
    run = mergeable ? { ...chunk } : null;
    merged.push(run ?? chunk);
  }
  return merged;
}
