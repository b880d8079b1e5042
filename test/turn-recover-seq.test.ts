// After a crash, every resumer gets the recovered turn's terminal event, even
// one holding seqs Redis never got: the dead instance sent its last events to
// its clients before its pipelined write to Redis, so the recovery's
// StreamFailed (at Redis's last seq + 1) may carry a seq such a client holds.
// Redis only (the memory log dies with its process and recovers nothing).
import type { UIMessageChunk } from "ai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { claimLapsedTurns } from "../src/db/turn-lease.ts";
import { recoverTurn } from "../src/turn/recover.ts";
import { RedisTurnLog } from "../src/turn/redis-turn-log.ts";
import type { TurnEvent } from "../src/turn/turn-log.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { insertUser } from "./support/fixtures.ts";
import { eventually } from "./support/sse.ts";
import { beginStoredTurn } from "./support/turn-rows.ts";

const redisUrl = process.env.REDIS_URL;

async function readAll(log: RedisTurnLog, streamId: string, afterSeq: number, running: boolean) {
  const events: TurnEvent[] = [];
  for await (const event of log.read(streamId, afterSeq, { running, signal: AbortSignal.timeout(8_000) })) {
    events.push(event);
  }
  return events;
}

describe.skipIf(!redisUrl)("a recovered turn's terminal event (Redis)", () => {
  let database: TestDatabase;
  let owner: RedisTurnLog;
  let survivor: RedisTurnLog;
  beforeAll(async () => {
    database = await createTestDatabase();
    const options = { retentionMs: 60_000, maxEvents: 1_000 };
    owner = await RedisTurnLog.connect(redisUrl!, options);
    survivor = await RedisTurnLog.connect(redisUrl!, options);
  });
  afterAll(async () => {
    await owner?.shutdown();
    await survivor?.shutdown();
    await database?.drop();
  });

  it("reaches a live reader and a late one holding a seq Redis never got, as their next seq", async () => {
    const { db } = database;
    const user = await insertUser(db.prisma);
    const { streamId, chatId, assistantMessageId } = await beginStoredTurn(db, user.id, "the-instance-that-dies");

    // The dying instance logs StreamStarted and three deltas; Redis gets them.
    owner.open(streamId);
    const started = { __typename: "StreamStarted", seq: 0, streamId, chatId, userMessageId: "u", assistantMessageId };
    owner.append(streamId, started as TurnEvent, { type: "start" });
    owner.note(streamId, { type: "text-start", id: "t1" });
    for (const [seq, delta] of [
      [1, "One, "],
      [2, "two, "],
      [3, "three."],
    ] as const) {
      const chunk: UIMessageChunk = { type: "text-delta", id: "t1", delta };
      owner.append(streamId, { __typename: "TextDelta", seq, partId: "t1", delta } as TurnEvent, chunk);
    }
    await eventually(async () => (await survivor.recover(streamId))?.lastSeq === 3, 5_000);
    // Its client also got seq 4, which the instance died before writing to Redis.
    const held = 4;

    const live = readAll(survivor, streamId, held, true);
    const [lapsed] = await claimLapsedTurns(db.sql, {
      ownerId: "the-survivor",
      lapsedSeconds: 0,
      running: [],
      only: [streamId],
    });
    await recoverTurn(db, survivor, lapsed!);

    const failed = {
      __typename: "StreamFailed",
      code: "offline:chat",
      partialMessage: expect.objectContaining({ status: "failed" }),
    };
    expect(await live).toEqual([expect.objectContaining({ ...failed, seq: held + 1 })]);
    expect(await readAll(survivor, streamId, held, false)).toEqual([expect.objectContaining({ ...failed, seq: 5 })]);
    // A reader behind Redis's last event gets the rest, then the terminal at the seq after it: no gap.
    const behind = await readAll(survivor, streamId, 2, false);
    expect(behind.map((e) => [e.__typename, e.seq])).toEqual([
      ["TextDelta", 3],
      ["StreamFailed", 4],
    ]);
    const stored = await db.prisma.message.findUniqueOrThrow({ where: { id: assistantMessageId } });
    expect(stored.status).toBe("failed");
    expect(JSON.stringify(stored.parts)).toContain("One, two, three.");
  }, 30_000);
});
