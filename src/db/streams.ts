import type { Stream, StreamStatus } from "../generated/prisma/client.ts";
import { dbCall, type Queryable } from "./queryable.ts";

export function createStreamId(db: Queryable, stream: { id: string; chatId: string }): Promise<Stream> {
  return dbCall("createStreamId", () => db.stream.create({ data: stream }));
}

export function updateStreamStatusById(db: Queryable, id: string, status: StreamStatus): Promise<Stream> {
  return dbCall("updateStreamStatusById", () => db.stream.update({ where: { id }, data: { status } }));
}

/** The chat's streams, newest first. */
export function getStreamsByChatId(db: Queryable, chatId: string): Promise<Stream[]> {
  return dbCall("getStreamsByChatId", () =>
    db.stream.findMany({ where: { chatId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
  );
}

/** Ids of the chat's streams still running (on any instance). */
export async function getActiveStreamIdsByChatId(db: Queryable, chatId: string): Promise<string[]> {
  const rows = await dbCall("getActiveStreamIdsByChatId", () =>
    db.stream.findMany({ where: { chatId, status: "active" }, select: { id: true } }),
  );
  return rows.map((row) => row.id);
}

/** Marks those of `ids` still active as failed; how many it marked. */
export async function markStreamsFailedIfActive(db: Queryable, ids: string[]): Promise<number> {
  const { count } = await dbCall("markStreamsFailedIfActive", () =>
    db.stream.updateMany({ where: { id: { in: ids }, status: "active" }, data: { status: "failed" } }),
  );
  return count;
}

/** The chat's latest stream (its latest turn), or null. */
export function getLatestStreamByChatId(db: Queryable, chatId: string): Promise<Stream | null> {
  return dbCall("getLatestStreamByChatId", () =>
    db.stream.findFirst({ where: { chatId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
  );
}
