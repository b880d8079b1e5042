// PublicReaders on its own, with a chat whose visibility the test sets: a
// reader paused at an event while the chat goes private and public again
// goes on reading (no spin, no lost event), and one waiting on a silent turn
// is cut off when the chat goes private.
import { describe, expect, it } from "vitest";
import type { Database } from "../src/db/client.ts";
import { PublicReaders, RECHECK_MS } from "../src/schema/public-readers.ts";

function chatOf(visibility: { now: "public" | "private" }): Database {
  return {
    prisma: { chat: { findUnique: async () => ({ id: "c", visibility: visibility.now }) } },
  } as unknown as Database;
}

/** Events pushed by the test, read one at a time. */
function liveEvents() {
  const queue: string[] = [];
  let wake: (() => void) | null = null;
  async function* events(): AsyncGenerator<string> {
    for (;;) {
      while (queue.length > 0) yield queue.shift()!;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  }
  return {
    events: events(),
    push(event: string) {
      queue.push(event);
      wake?.();
    },
  };
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("PublicReaders", () => {
  it("a reader paused while the chat goes private and public again reads on, every event, without spinning", async () => {
    const visibility = { now: "public" as "public" | "private" };
    const readers = new PublicReaders(chatOf(visibility));
    const live = liveEvents();
    const reader = readers.whilePublic("c", live.events);
    live.push("e1");
    expect((await reader.next()).value).toBe("e1");
    visibility.now = "private";
    await pause(RECHECK_MS + 500);
    visibility.now = "public";
    await pause(RECHECK_MS + 500);
    // The event loop still turns while the reader waits (a spin would starve this timer).
    let ticked = false;
    setTimeout(() => (ticked = true), 50);
    const second = reader.next();
    await pause(200);
    expect(ticked).toBe(true);
    live.push("e2");
    expect((await second).value).toBe("e2");
    await reader.return(undefined);
  }, 15_000);

  it("a reader waiting on a silent turn is cut off with forbidden:chat once a look finds the chat private", async () => {
    const visibility = { now: "public" as "public" | "private" };
    const readers = new PublicReaders(chatOf(visibility));
    const live = liveEvents();
    const reader = readers.whilePublic("c", live.events);
    live.push("e1");
    await reader.next();
    const waiting = reader.next();
    visibility.now = "private";
    await expect(waiting).rejects.toMatchObject({ code: "forbidden:chat" });
  }, 10_000);
});
