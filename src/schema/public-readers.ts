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
  /** Looks again every RECHECK_MS while it has readers, so a silent turn's readers are cut off too. */
  timer: NodeJS.Timeout;
  /** Settles once a look found the chat private or gone. */
  revoked: Promise<typeof REVOKED>;
  revoke: () => void;
}

const REVOKED = Symbol("revoked");

function refuseIfRevoked(watched: Watched): void {
  if (watched.state === "private") throw new ChatSDKError("forbidden:chat");
  if (watched.state === "gone") throw new ChatSDKError("not_found:chat");
}

/**
 * A public chat's events as its other readers (resumeStream callers who do
 * not own it) get them: while the chat stays public. Access is checked when
 * a stream starts; the owner may make the chat private (or delete it)
 * meanwhile, and then those readers' streams end with `forbidden:chat` (or
 * `not_found:chat`) within RECHECK_MS, at their next event or while they wait
 * for one. One look at the chat per instance and RECHECK_MS, however many
 * read it.
 */
export class PublicReaders {
  private readonly chats = new Map<string, Watched>();
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
  }

  async *whilePublic<T>(chatId: string, events: AsyncGenerator<T>): AsyncGenerator<T> {
    const watched = this.watch(chatId);
    // The caller just found the chat public: the freshest look there is (the chat may have
    // been private, and public again, while earlier readers stayed).
    if (!watched.checking && watched.state !== "public") {
      watched.state = "public";
      watched.checkedAt = Date.now();
      this.renew(watched);
    }
    watched.readers++;
    let ended = false;
    // The read of the next event, kept across looks: never a second one while it is pending.
    let pending: Promise<IteratorResult<T>> | null = null;
    try {
      for (;;) {
        if (!pending) {
          pending = events.next();
          // Left pending when the chat is revoked first: its end (or failure) is no one's to hear.
          pending.catch(() => {});
        }
        const next = await Promise.race([pending, watched.revoked]);
        if (next === REVOKED) {
          refuseIfRevoked(watched);
          // Public again since that look (a settled `revoked` would be raced again and again): wait on a new one.
          this.renew(watched);
          continue;
        }
        pending = null;
        if (next.done) {
          ended = true;
          return;
        }
        if (Date.now() - watched.checkedAt >= RECHECK_MS) await this.recheck(chatId, watched);
        refuseIfRevoked(watched);
        yield next.value;
      }
    } finally {
      // Cut off while it waited: the read behind ends at its next event or the turn's end, unseen.
      if (!ended) void events.return(undefined).catch(() => {});
      if (--watched.readers === 0) {
        clearInterval(watched.timer);
        this.chats.delete(chatId);
      }
    }
  }

  private watch(chatId: string): Watched {
    let watched = this.chats.get(chatId);
    if (watched) return watched;
    watched = { readers: 0, state: "public", checkedAt: Date.now(), checking: null } as Watched;
    this.renew(watched);
    const timer = setInterval(() => void this.recheck(chatId, watched), RECHECK_MS);
    timer.unref();
    watched.timer = timer;
    this.chats.set(chatId, watched);
    return watched;
  }

  /** A fresh `revoked` for a chat found public again. */
  private renew(watched: Watched): void {
    const { promise, resolve } = Promise.withResolvers<typeof REVOKED>();
    watched.revoked = promise;
    watched.revoke = () => resolve(REVOKED);
  }

  private recheck(chatId: string, watched: Watched): Promise<void> {
    watched.checking ??= getChatById(this.db.prisma, chatId)
      .then(
        (chat) => {
          const was = watched.state;
          watched.state = !chat ? "gone" : chat.visibility === "public" ? "public" : "private";
          if (watched.state !== "public") watched.revoke();
          // Public again: readers still here (paused at an event) wait on a new look.
          else if (was !== "public") this.renew(watched);
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
