import type { UIMessage } from "ai";
import type { Message } from "../generated/prisma/client.ts";

/** A stored message as the AI SDK UIMessage the streamer expects. */
export function toUIMessage(row: Message): UIMessage {
  return { id: row.id, role: row.role, parts: row.parts as UIMessage["parts"] };
}
