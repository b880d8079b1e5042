// The running turns' checkpoints: each turn's STREAMING row shows its answer so
// far (a tool call still waiting shown as waiting), the turns due together go
// in one statement, a stop waits for the write it is in, and a database that
// does not answer ends every turn of the write.
import type { UIMessageChunk } from "ai";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { Database } from "../src/db/client.ts";
import { claimLapsedTurns, type LapsedTurn } from "../src/db/turn-lease.ts";
import type { Message } from "../src/generated/prisma/client.ts";
import { interruptedToolError } from "../src/turn/assemble.ts";
import { CheckpointWriter } from "../src/turn/checkpoint.ts";
import { MemoryTurnLog } from "../src/turn/memory-turn-log.ts";
import { ReceivedChunks } from "../src/turn/received-chunks.ts";
import { recoverTurn } from "../src/turn/recover.ts";
import { ANSWER_DELETED } from "../src/turn/turn-endings.ts";
import type { TurnEvent } from "../src/turn/turn-log.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { dropDatabase, insertChat, insertUser, newId } from "./support/fixtures.ts";
import { eventually } from "./support/sse.ts";

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(() => dropDatabase(database));

/** The database, counting the checkpoint statements it is sent (and failing them while `refuse` is set). */
function counting(db: Database) {
  const seen = { statements: 0, refuse: null as Error | null };
  const sql = {
    query: async <T>(text: string, params?: unknown[]): Promise<T[]> => {
      if (text.includes("jsonb_to_recordset")) {
        seen.statements++;
        if (seen.refuse) throw seen.refuse;
      }
      return db.sql.query<T>(text, params);
    },
  };
  return { db: { ...db, sql } as Database, seen };
}

async function streamingRows(count: number): Promise<string[]> {
  const user = await insertUser(database.db.prisma);
  const chat = await insertChat(database.db.prisma, { userId: user.id });
  const ids = Array.from({ length: count }, () => newId());
  await database.db.prisma.message.createMany({
    data: ids.map((id) => ({
      id,
      chatId: chat.id,
      userId: user.id,
      role: "assistant",
      parts: [],
      attachments: [],
      status: "streaming",
    })),
  });
  return ids;
}

/** The lapsed turn of the STREAMING row `row`, as the sweep claims it (begun at `createdAt`). */
function lapsedTurn(row: Message, createdAt = new Date()): LapsedTurn {
  return {
    id: newId(),
    chatId: row.chatId,
    assistantMessageId: row.id,
    userMessageId: null,
    createdAt,
    userId: row.userId,
    checkpoint: row.parts,
    answerExists: true,
  };
}

function answerSoFar(text: string): ReceivedChunks {
  const received = new ReceivedChunks();
  const chunks = [
    { type: "start" },
    { type: "start-step" },
    { type: "text-start", id: "t" },
    { type: "text-delta", id: "t", delta: text },
  ] as UIMessageChunk[];
  for (const chunk of chunks) received.push(chunk);
  return received;
}

async function storedText(id: string): Promise<string | null> {
  const row = await database.db.prisma.message.findUnique({ where: { id } });
  const parts = (row?.parts ?? []) as { type: string; text?: string }[];
  return parts.find((part) => part.type === "text")?.text ?? null;
}

test("twenty turns due together are checkpointed together, each row with its own answer", async () => {
  const ids = await streamingRows(20);
  const { db, seen } = counting(database.db);
  const writer = new CheckpointWriter(db, 200);
  const turns = ids.map((id, i) => writer.track(id, answerSoFar(`answer ${i}`)));
  await eventually(async () => (await storedText(ids.at(-1)!)) !== null);
  for (const [i, id] of ids.entries()) expect(await storedText(id)).toBe(`answer ${i}`);
  // One statement, or two when a tick fell between the turns' start times (a millisecond apart); never one a turn.
  const statements = seen.statements;
  expect(statements).toBeLessThanOrEqual(2);
  // Nothing new arrived: the next periods write nothing.
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(seen.statements).toBe(statements);
  await Promise.all(turns.map((turn) => turn.stop()));
});

test("a turn's new chunks are written at its next period; a stopped turn is not written again", async () => {
  const [growing, stopped] = await streamingRows(2);
  const writer = new CheckpointWriter(database.db, 150);
  const received = answerSoFar("first");
  const turn = writer.track(growing, received);
  const other = writer.track(stopped, answerSoFar("kept"));
  await eventually(async () => (await storedText(stopped)) === "kept");
  await other.stop();
  await database.db.prisma.message.update({
    where: { id: stopped },
    data: { parts: [{ type: "text", text: "final" }] },
  });
  received.push({ type: "text-delta", id: "t", delta: " and more" } as UIMessageChunk);
  await eventually(async () => (await storedText(growing)) === "first and more");
  expect(await storedText(stopped)).toBe("final");
  await turn.stop();
});

test("a database that does not answer a checkpoint ends every turn of that write", async () => {
  const ids = await streamingRows(3);
  const { db, seen } = counting(database.db);
  seen.refuse = new Error("Query read timeout");
  const writer = new CheckpointWriter(db, 150);
  const ended = new Set<string>();
  const turns = ids.map((id) => writer.track(id, answerSoFar("lost"), { unavailable: () => ended.add(id) }));
  await eventually(async () => ended.size === ids.length);
  expect([...ended].sort()).toEqual([...ids].sort());
  await Promise.all(turns.map((turn) => turn.stop()));
});

test("a tool call waiting for its result is checkpointed as waiting; a recovery from that checkpoint ends it interrupted", async () => {
  const [id] = await streamingRows(1);
  const received = new ReceivedChunks();
  const chunks = [
    { type: "start" },
    { type: "start-step" },
    { type: "tool-input-available", toolCallId: "call-1", toolName: "getWeather", input: { city: "Oslo" } },
  ] as UIMessageChunk[];
  for (const chunk of chunks) received.push(chunk);
  const writer = new CheckpointWriter(database.db, 150);
  const turn = writer.track(id, received);
  const toolPart = async () => {
    const row = await database.db.prisma.message.findUnique({ where: { id } });
    return ((row?.parts ?? []) as { type: string; state?: string; errorText?: string }[]).find(
      (part) => part.type === "tool-getWeather",
    );
  };
  await eventually(async () => (await toolPart()) !== undefined);
  expect(await toolPart()).toMatchObject({ state: "input-available", input: { city: "Oslo" } });
  await turn.stop();

  // The instance died there: another one stores the turn FAILED from that checkpoint.
  const row = await database.db.prisma.message.findUniqueOrThrow({ where: { id } });
  const turnLog = new MemoryTurnLog({ retentionMs: 60_000 });
  await recoverTurn(database.db, turnLog, lapsedTurn(row));
  const recovered = await database.db.prisma.message.findUniqueOrThrow({ where: { id } });
  expect(recovered.status).toBe("failed");
  expect(await toolPart()).toMatchObject({ state: "output-error", errorText: interruptedToolError });
  await turnLog.shutdown();
});

test("a recovery keeps the checkpoint when the turn log holds less (Redis missed events), the log when it holds more", async () => {
  const text = (words: number) => Array.from({ length: words }, (_, i) => `w${i} `).join("");
  const chunksOf = (words: number) =>
    [
      { type: "start" },
      { type: "start-step" },
      { type: "text-start", id: "t" },
      { type: "text-delta", id: "t", delta: text(words) },
    ] as UIMessageChunk[];
  /** A turn log that recovers `words` words of the answer. */
  const logWith = (words: number) => {
    const turnLog = new MemoryTurnLog({ retentionMs: 60_000 });
    turnLog.recover = async () => ({ chunks: chunksOf(words), lastSeq: 3 + words, ended: false });
    return turnLog;
  };
  for (const [logged, checkpointed, kept] of [
    [10, 58, 58],
    [40, 20, 40],
    [0, 30, 30],
  ] as const) {
    const [id] = await streamingRows(1);
    const checkpoint = [{ type: "step-start" }, { type: "text", text: text(checkpointed), state: "streaming" }];
    await database.db.prisma.message.update({ where: { id }, data: { parts: checkpoint } });
    const row = await database.db.prisma.message.findUniqueOrThrow({ where: { id } });
    const turnLog = logWith(logged);
    if (logged === 0) turnLog.recover = async () => null;
    await recoverTurn(database.db, turnLog, lapsedTurn(row));
    const recovered = await database.db.prisma.message.findUniqueOrThrow({ where: { id } });
    expect(recovered.status).toBe("failed");
    expect((recovered.parts as { type: string; text?: string }[]).find((part) => part.type === "text")?.text).toBe(
      text(kept),
    );
    await turnLog.shutdown();
  }
});

test("a recovery that cannot read the turn log leaves the turn for the next sweep; an hour on, the checkpoint serves", async () => {
  const [id] = await streamingRows(1);
  const checkpoint = [{ type: "step-start" }, { type: "text", text: "so far", state: "streaming" }];
  await database.db.prisma.message.update({ where: { id }, data: { parts: checkpoint } });
  const row = await database.db.prisma.message.findUniqueOrThrow({ where: { id } });
  const turnLog = new MemoryTurnLog({ retentionMs: 60_000 });
  turnLog.recover = async () => {
    throw new Error("Connection is closed.");
  };
  await expect(recoverTurn(database.db, turnLog, lapsedTurn(row))).rejects.toThrow(/next sweep/);
  expect((await database.db.prisma.message.findUniqueOrThrow({ where: { id } })).status).toBe("streaming");

  await recoverTurn(database.db, turnLog, lapsedTurn(row, new Date(Date.now() - 2 * 60 * 60 * 1000)));
  const recovered = await database.db.prisma.message.findUniqueOrThrow({ where: { id } });
  expect(recovered.status).toBe("failed");
  expect((recovered.parts as { type: string; text?: string }[]).find((part) => part.type === "text")?.text).toBe(
    "so far",
  );
  await turnLog.shutdown();
});

test("a recovered turn whose answer its user deleted is forgotten: no answer stored again, its Stream row gone, its readers told", async () => {
  const [id] = await streamingRows(1);
  const row = await database.db.prisma.message.findUniqueOrThrow({ where: { id } });
  const streamId = newId();
  await database.db.prisma.stream.create({
    data: {
      id: streamId,
      chatId: row.chatId,
      status: "active",
      assistantMessageId: id,
      ownerId: "an instance that died",
      heartbeatAt: new Date(Date.now() - 60_000),
    },
  });
  // Its user edits the conversation back past it (deleteTrailingMessages) after its instance died.
  await database.db.prisma.message.delete({ where: { id } });

  const [turn] = await claimLapsedTurns(database.db.sql, {
    ownerId: "the sweeper",
    lapsedSeconds: 1,
    running: [],
    only: [streamId],
  });
  expect(turn).toMatchObject({ id: streamId, answerExists: false });
  const turnLog = new MemoryTurnLog({ retentionMs: 60_000 });
  turnLog.recover = async () => ({ chunks: [{ type: "start" }] as UIMessageChunk[], lastSeq: 4, ended: false });
  const terminals: TurnEvent[] = [];
  turnLog.appendTerminal = async (_id, event) => void terminals.push(event);
  await recoverTurn(database.db, turnLog, turn);

  expect(await database.db.prisma.message.findUnique({ where: { id } })).toBeNull();
  expect(await database.db.prisma.stream.findUnique({ where: { id: streamId } })).toBeNull();
  expect(terminals).toEqual([{ __typename: "StreamAborted", seq: 5, reason: ANSWER_DELETED, partialMessage: null }]);
  await turnLog.shutdown();
});
