// What one turn may hold: past TURN_MAX_EVENTS, or running past TURN_MAX_SECONDS,
// it ends as StreamFailed with its partial answer stored; with Redis, a reader that stops reading while the
// turn runs on is not fed from memory but goes on from Redis, missing nothing.
import type { UIMessageChunk } from "ai";
import { expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import type { ChunkSource } from "../src/turn/chunk-source.ts";
import { MemoryTurnLog } from "../src/turn/memory-turn-log.ts";
import { prepareTurn } from "../src/turn/prepare.ts";
import { RedisTurnLog } from "../src/turn/redis-turn-log.ts";
import type { TurnLog } from "../src/turn/turn-log.ts";
import { TurnRun, type TurnEvent } from "../src/turn/turn-run.ts";
import { turnHead, turnTail } from "./support/fake-streamer.ts";
import { insertUser, newId } from "./support/fixtures.ts";
import { useTestDatabase } from "./support/file-hooks.ts";

const redisUrl = process.env.REDIS_URL;
const database = useTestDatabase({ resetEachTest: false });

const words = (n: number) => Array.from({ length: n }, (_, i) => ` w${i}`);

/** A streamer answering `deltas` deltas at once; `aborted` tells whether the gateway stopped it. */
function burstSource(deltas: number): ChunkSource & { aborted: boolean } {
  const chunks = [
    ...turnHead(),
    ...words(deltas).map((delta) => ({ type: "text-delta", id: "t1", delta })),
    ...turnTail(null),
  ] as UIMessageChunk[];
  const source = {
    aborted: false,
    warm() {},
    async *open(_turn: unknown, signal: AbortSignal) {
      signal.addEventListener("abort", () => (source.aborted = true));
      for (const chunk of chunks) {
        signal.throwIfAborted();
        yield chunk;
        await new Promise((resolve) => setImmediate(resolve));
      }
    },
  };
  return source;
}

async function startTurn(source: ChunkSource, turnLog: TurnLog, maxEvents = 100_000, maxMs = 0): Promise<TurnRun> {
  const user = await insertUser(database.db.prisma);
  const turn = await prepareTurn(database.db, parseEnv({}), user, {
    chatId: newId(),
    message: { id: newId(), role: "user", parts: [{ type: "text", text: "Say many words." }] },
    model: null,
    visibility: null,
    ownerId: "turn-bounds-test",
  });
  return new TurnRun(database.db, source, turnLog, { maxEvents, maxBytes: 1_000_000, checkpointMs: 0, maxMs }, turn);
}

/** A streamer that sends one delta, then keeps its stream open until the gateway aborts it (keep-alives forever). */
function endlessSource(): ChunkSource & { aborted: boolean } {
  const source = {
    aborted: false,
    warm() {},
    async *open(_turn: unknown, signal: AbortSignal) {
      for (const chunk of [...turnHead(), { type: "text-delta", id: "t1", delta: "Still thinking" }]) {
        yield chunk as UIMessageChunk;
      }
      await new Promise((_, reject) =>
        signal.addEventListener("abort", () => {
          source.aborted = true;
          reject(signal.reason);
        }),
      );
    },
  };
  return source;
}

test("a turn running past TURN_MAX_SECONDS ends as StreamFailed, the upstream stopped and the partial answer stored", async () => {
  const source = endlessSource();
  const started = performance.now();
  const run = await startTurn(source, new MemoryTurnLog({ retentionMs: 1000 }), 100_000, 300);
  const events: TurnEvent[] = [];
  for await (const event of run.subscribe(-1)) events.push(event);

  expect(performance.now() - started).toBeLessThan(5_000);
  expect(events.at(-1)).toMatchObject({
    __typename: "StreamFailed",
    code: "offline:chat",
    reason: expect.stringMatching(/longer than the gateway allows/),
    partialMessage: { status: "failed" },
  });
  expect(source.aborted).toBe(true);
  const stored = await database.db.prisma.message.findUniqueOrThrow({ where: { id: run.turn.assistantMessageId } });
  expect(stored.status).toBe("failed");
  expect(stored.parts).toContainEqual(expect.objectContaining({ type: "text", text: "Still thinking" }));
});

test("a turn past its bound of events ends as StreamFailed, the upstream stopped and the partial answer stored", async () => {
  const source = burstSource(500);
  const run = await startTurn(source, new MemoryTurnLog({ retentionMs: 1000 }), 50);
  const events: TurnEvent[] = [];
  for await (const event of run.subscribe(-1)) events.push(event);

  expect(events.length).toBeLessThanOrEqual(52);
  const last = events.at(-1)!;
  expect(last).toMatchObject({
    __typename: "StreamFailed",
    code: "offline:chat",
    partialMessage: { status: "failed" },
  });
  const text = events.flatMap((e) => (e.__typename === "TextDelta" ? [e.delta] : [])).join("");
  expect(text.length).toBeGreaterThan(0);
  const stored = await database.db.prisma.message.findUniqueOrThrow({ where: { id: run.turn.assistantMessageId } });
  expect(stored.status).toBe("failed");
  expect(stored.parts).toEqual([{ type: "step-start" }, { type: "text", text, state: "done" }]);
  expect(source.aborted).toBe(true);
});

test.skipIf(!redisUrl)(
  "with Redis, a reader that stops reading mid-turn gets every event later, from Redis",
  async () => {
    const turnLog = await RedisTurnLog.connect(redisUrl!, { retentionMs: 10_000, maxEvents: 20_000 });
    try {
      const run = await startTurn(burstSource(3_000), turnLog);
      const reader = run.subscribe(-1);
      const events: TurnEvent[] = [(await reader.next()).value as TurnEvent];
      // The turn runs to its end while this reader reads nothing.
      await run.finished;
      for await (const event of reader) events.push(event);
      expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
      expect(events.at(-1)!.__typename).toBe("StreamFinished");
      expect(events.flatMap((e) => (e.__typename === "TextDelta" ? [e.delta] : [])).join("")).toBe(
        words(3_000).join(""),
      );
    } finally {
      await turnLog.shutdown();
    }
  },
);
