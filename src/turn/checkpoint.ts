import type { Database } from "../db/client.ts";
import { checkpointParts } from "../db/turn-queries.ts";
import { isDatabaseUnavailable } from "../db/unavailable.ts";
import { log } from "../log.ts";
import { assembleMessage } from "./assemble.ts";
import type { ReceivedChunks } from "./received-chunks.ts";

/**
 * Writes the partial answer into the turn's STREAMING row every `everyMs`
 * when chunks arrived since the last write: readers of the chat see the turn
 * grow, and the embedded mode recovers a crashed turn from it. A timer, so
 * never on the first-delta path; one write at a time, from compacted chunks,
 * so its cost stays bounded however fast the deltas come. A write that finds
 * the database down or not answering within its bounds calls `unavailable`
 * (the turn then ends, see turn-run.ts); other failures are only logged.
 */
export function startCheckpoints(
  db: Database,
  messageId: string,
  received: ReceivedChunks,
  everyMs: number,
  unavailable: () => void = () => {},
) {
  let written = 0;
  let writing: Promise<void> | null = null;
  const write = async () => {
    if (received.count === written) return;
    written = received.count;
    try {
      const { parts } = await assembleMessage(received.all, { messageId });
      await checkpointParts(db.sql, messageId, parts);
    } catch (error) {
      log.warn("turn checkpoint failed", { messageId, error });
      if (isDatabaseUnavailable(error)) unavailable();
    }
  };
  const timer =
    everyMs > 0
      ? setInterval(() => {
          writing ??= write().finally(() => (writing = null));
        }, everyMs)
      : null;
  timer?.unref();
  return {
    /** Stops the timer and waits for a write under way, so the final store lands after it. */
    async stop(): Promise<void> {
      if (timer) clearInterval(timer);
      await writing;
    },
  };
}
