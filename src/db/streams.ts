import type { Stream } from "../generated/prisma/client.ts";
import { dbCall, type Queryable } from "./queryable.ts";

/** Ids of the chat's streams still running (on any instance). */
export async function getActiveStreamIdsByChatId(db: Queryable, chatId: string): Promise<string[]> {
  const rows = await dbCall("getActiveStreamIdsByChatId", () =>
    db.stream.findMany({ where: { chatId, status: "active" }, select: { id: true } }),
  );
  return rows.map((row) => row.id);
}

/** The chat's stream `id` (one turn), or null when the chat has no such stream. */
export function getStreamOfChat(db: Queryable, chatId: string, id: string): Promise<Stream | null> {
  return dbCall("getStreamOfChat", () => db.stream.findFirst({ where: { id, chatId } }));
}

/** The chat's latest stream (its latest turn), or null. */
export function getLatestStreamByChatId(db: Queryable, chatId: string): Promise<Stream | null> {
  return dbCall("getLatestStreamByChatId", () =>
    db.stream.findFirst({ where: { chatId }, orderBy: [{ createdAt: "desc" }, { id: "desc" }] }),
  );
}
