// A GET that stops reading its event stream: once more results wait than the
// bound, the stream ends with an error and `complete` for each operation, after
// the results that waited, so the client sees its operations fail instead of
// silently missing results. A GET that keeps up is never cut, however many
// results pass. In memory and, with REDIS_URL, in Redis.
import { randomUUID } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import type { EventStreams } from "../src/http/single-connection/event-streams.ts";
import { MemoryEventStreams } from "../src/http/single-connection/memory-event-streams.ts";
import { RedisEventStreams } from "../src/http/single-connection/redis-event-streams.ts";
import { eventually } from "./support/sse.ts";

const MAX = 5;
const result = (n: number) => `event: next\ndata: {"id":"op-1","payload":{"data":{"n":${n}}}}\n\n`;

/** A stream reserved, opened (its frames not read yet) and running operation `op-1`. */
async function heldStream(streams: EventStreams) {
  const id = randomUUID();
  const until = Date.now() + 30_000;
  await streams.reserve(id, until);
  const opened = await streams.open(id, until);
  if (opened.kind !== "opened") throw new Error(`not opened: ${opened.kind}`);
  expect(await streams.addOperation(id, "op-1", 10)).toBe("added");
  const cancels: (string | null)[] = [];
  streams.onCancel((streamId, operationId) => streamId === id && cancels.push(operationId));
  return { id, frames: opened.stream.frames[Symbol.asyncIterator](), close: opened.stream.close, cancels };
}

/** Reads until `enough` holds or the frames end; refuses to wait forever. */
async function read(frames: AsyncIterator<string[]>, enough: (text: string) => boolean = () => false) {
  let text = "";
  const deadline = new Promise<"timeout">((resolve) => setTimeout(() => resolve("timeout"), 5_000).unref());
  for (;;) {
    const next = await Promise.race([frames.next(), deadline]);
    if (next === "timeout") return { text, ended: false };
    if (next.done) return { text, ended: true };
    text += next.value.join("");
    if (enough(text)) return { text, ended: false };
  }
}

function behaves(name: string, create: () => Promise<EventStreams>) {
  describe(name, () => {
    let streams: EventStreams;
    afterAll(() => streams?.close());

    it("a holder that keeps up gets every result, however many pass", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      let text = "";
      for (let n = 0; n < MAX * 4; n++) {
        streams.send(held.id, result(n));
        text += (await read(held.frames, (seen) => seen.includes(result(n)))).text;
      }
      expect(text).toBe(Array.from({ length: MAX * 4 }, (_, n) => result(n)).join(""));
      expect(held.cancels).toEqual([]);
      await held.close();
    });

    it("a holder that stops reading gets what waited, then an error and complete per operation, then the end", async () => {
      streams ??= await create();
      const held = await heldStream(streams);
      for (let n = 0; n < MAX + 3; n++) streams.send(held.id, result(n));
      const { text, ended } = await read(held.frames);
      const waited = Array.from({ length: MAX }, (_, n) => result(n)).join("");
      expect(text.startsWith(waited)).toBe(true);
      const [next, complete] = text.slice(waited.length).split("\n\n");
      expect(next).toMatch(/^event: next\ndata: /);
      expect(JSON.parse(next.replace(/^event: next\ndata: /, ""))).toEqual({
        id: "op-1",
        payload: {
          errors: [
            { message: expect.stringContaining("run the operation again"), extensions: { code: "bad_request:api" } },
          ],
        },
      });
      expect(complete).toBe(`event: complete\ndata: {"id":"op-1"}`);
      expect(ended).toBe(true);
      // Its operations are stopped, and the stream is gone.
      await eventually(async () => held.cancels.includes(null));
      await held.close();
      expect(await streams.state(held.id, Date.now() + 30_000)).toBe("gone");
    });
  });
}

behaves("in memory", async () => new MemoryEventStreams({ maxQueuedFrames: MAX }));

const redisUrl = process.env.REDIS_URL;
if (redisUrl) behaves("in Redis", () => RedisEventStreams.connect(redisUrl, { maxFrames: MAX }));
else describe.skip("in Redis (REDIS_URL unset)", () => it("skipped", () => {}));
