import type { UIMessageChunk } from "ai";

type DeltaChunk = Extract<UIMessageChunk, { type: "text-delta" | "reasoning-delta" }>;

/**
 * The streamer chunks a turn received, compacted as they arrive: a run of
 * text or reasoning deltas of one part is one chunk (as assemble.ts's
 * mergeDeltas would fold it), so a turn of 10,000 deltas holds a few chunks,
 * not 10,000. `bytes` measures what arrived in UTF-8, for the turn's size bound.
 */
export class ReceivedChunks {
  readonly all: UIMessageChunk[] = [];
  /** Grows with every chunk: a checkpoint compares it with the one it last wrote. */
  count = 0;
  bytes = 0;
  private run: DeltaChunk | null = null;

  /** Keeps `chunk`; `bytes`: its size (chunkBytes), when the caller has measured it. */
  push(chunk: UIMessageChunk, bytes = chunkBytes(chunk)): void {
    this.count++;
    this.bytes += bytes;
    if (isPlainDelta(chunk)) {
      if (this.run && this.run.type === chunk.type && this.run.id === chunk.id) {
        this.run.delta += chunk.delta;
        return;
      }
      this.run = { ...chunk };
      this.all.push(this.run);
      return;
    }
    this.run = null;
    this.all.push(chunk);
  }
}

function isPlainDelta(chunk: UIMessageChunk): chunk is DeltaChunk {
  return (chunk.type === "text-delta" || chunk.type === "reasoning-delta") && !chunk.providerMetadata;
}

/** A chunk's size toward TURN_MAX_BYTES: a plain delta's text, anything else its JSON, in UTF-8. */
export function chunkBytes(chunk: UIMessageChunk): number {
  return Buffer.byteLength(isPlainDelta(chunk) ? chunk.delta : JSON.stringify(chunk), "utf8");
}
