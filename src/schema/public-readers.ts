import { getChatById } from "../db/chats.ts";
import type { Database } from "../db/client.ts";
import { ChatSDKError } from "../errors.ts";
import { log } from "../log.ts";

// How stale a public chat's visibility may be when its next event goes to a
// reader who is not its owner: a chat made private stops reaching them within this.
export const RECHECK_MS = 2_000;

interface Watched {
  readers: number;
  /** What the chat was at the last look: still public, made private, or deleted. */
  state: "public" | "private" | "gone";
  checkedAt: number;
  checking: Promise<void> | null;
}

/**
 * A public chat's events as its other readers (resumeStream callers who do
 * not own it) get them: while the chat stays public. Access is checked when
 * a stream starts; the owner may make the chat private (or delete it)
 * meanwhile, and then those readers' streams end with `forbidden:chat` (or
 * `not_found:chat`) at their next event. One look at the chat per instance
 * and RECHECK_MS, however many read it.
 */
export class PublicReaders {
  private readonly chats = new Map<string, Watched>();
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  async *whilePublic<T>(chatId: string, events: AsyncGenerator<T>): AsyncGenerator<T> {
    let watched = this.chats.get(chatId);
    if (!watched) this.chats.set(chatId, (watched = { readers: 0, state: "public", checkedAt: 0, checking: null }));
    // The caller just found the chat public: the freshest look there is (the chat may have
    // been private, and public again, while earlier readers stayed).
    if (!watched.checking) {
      watched.state = "public";
      watched.checkedAt = Date.now();
    }
    watched.readers++;
    try {
      for await (const event of events) {
        if (Date.now() - watched.checkedAt >= RECHECK_MS) await this.recheck(chatId, watched);
        if (watched.state === "private") throw new ChatSDKError("forbidden:chat");
        if (watched.state === "gone") throw new ChatSDKError("not_found:chat");
        yield event;
      }
    } finally {
      if (--watched.readers === 0) this.chats.delete(chatId);
    }
  }

  private recheck(chatId: string, watched: Watched): Promise<void> {
    watched.checking ??= getChatById(this.db.prisma, chatId)
      .then(
        (chat) => {
          watched.state = !chat ? "gone" : chat.visibility === "public" ? "public" : "private";
        },
        // A database that does not answer leaves what was last seen: readers are not cut off by an outage.
        (error: unknown) => log.warn("a public chat's visibility could not be checked", { chatId, error }),
      )
      .finally(() => {
        watched.checkedAt = Date.now();
        watched.checking = null;
      });
    return watched.checking;
  }
}
