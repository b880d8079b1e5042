import type { UIMessageChunk } from "ai";
import { expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import type { ChunkSource } from "../src/turn/chunk-source.ts";
import { prepareTurn } from "../src/turn/prepare.ts";
import { MemoryTurnLog } from "../src/turn/memory-turn-log.ts";
import { TurnRun, type TurnEvent } from "../src/turn/turn-run.ts";
import { turnHead, turnTail } from "./support/fake-streamer.ts";
import { insertUser, newId } from "./support/fixtures.ts";
import { useTestDatabase } from "./support/file-hooks.ts";

const database = useTestDatabase({ resetEachTest: false });

/** A streamer's whole answer arriving at once, as one read of a fast streamer's body would. */
function burst(deltas: number): UIMessageChunk[] {
  const words = Array.from({ length: deltas }, (_, i) => ({ type: "text-delta", id: "t1", delta: ` w${i}` }));
  return [...turnHead(), ...words, ...turnTail(null)] as UIMessageChunk[];
}

/** Hands out `chunks` with no wait between them, counting how many were taken. */
function burstSource(chunks: UIMessageChunk[]): ChunkSource & { taken: number } {
  const source = {
    taken: 0,
    warm() {},
    async *open() {
      for (const chunk of chunks) {
        source.taken++;
        yield chunk;
      }
    },
  };
  return source;
}

async function startTurn(source: ChunkSource): Promise<TurnRun> {
  const env = parseEnv({});
  const user = await insertUser(database.db.prisma);
  const turn = await prepareTurn(database.db, env, user, {
    chatId: newId(),
    message: { id: newId(), role: "user", parts: [{ type: "text", text: "Say many words." }] },
    model: null,
    visibility: null,
    ownerId: "turn-run-test",
  });
  const settings = { maxEvents: env.TURN_MAX_EVENTS, maxBytes: env.TURN_MAX_BYTES, checkpointMs: 0, maxMs: 0 };
  return new TurnRun(database.db, source, new MemoryTurnLog({ retentionMs: 1000 }), settings, turn);
}

test("a burst's first delta is out by the next check phase, before the rest of the burst is read", async () => {
  const chunks = burst(200);
  const source = burstSource(chunks);
  const run = await startTurn(source);

  // The gateway's socket writes leave at the check phase after they are made
  // (src/http/coalesce-writes.ts); this probe stands in for that flush.
  let atFlush: { taken: number; seen: string[] } | null = null;
  const seen: string[] = [];
  const events: TurnEvent[] = [];
  for await (const event of run.subscribe(-1)) {
    events.push(event);
    seen.push(event.__typename);
    if (event.__typename === "StreamStarted") setImmediate(() => (atFlush = { taken: source.taken, seen: [...seen] }));
  }

  expect(atFlush).toEqual({
    taken: 4, // start, start-step, text-start, the first text-delta
    seen: ["StreamStarted", "StepStarted", "TextDelta"],
  });
  // The pause changes nothing else: every delta, in order, then the stored answer.
  const text = events.flatMap((event) => (event.__typename === "TextDelta" ? [event.delta] : [])).join("");
  expect(text).toBe(Array.from({ length: 200 }, (_, i) => ` w${i}`).join(""));
  const last = events.at(-1)!;
  expect(last.__typename).toBe("StreamFinished");
  expect(last.__typename === "StreamFinished" && last.message.parts).toEqual([
    { type: "step-start" },
    { type: "text", text, state: "done" },
  ]);
  expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i));
});
