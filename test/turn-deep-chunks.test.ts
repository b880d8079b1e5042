// A streamer chunk nested deeper than the database stores is a malformed
// chunk: the turn fails as for any unreadable answer, its text so far stored,
// instead of overflowing the stack in the walk that makes chunks storable.
import type { UIMessageChunk } from "ai";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { MAX_JSON_DEPTH } from "../src/config/json-depth.ts";
import { log } from "../src/log.ts";
import { readChunks } from "../src/turn/chunk-stream.ts";
import { ChunkRepair } from "../src/turn/storable-chunks.ts";
import { UpstreamError } from "../src/turn/upstream.ts";
import { expectOk, newUser } from "./support/fixtures.ts";
import { respond, textDeltas, turnHead, turnTail } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import { upstreamBodyOf, upstreamFailure } from "./support/upstream-body.ts";
import { CHAT_WITH_MESSAGES, sendInput, subscribeWithFetch } from "./support/sse.ts";

const UNREADABLE = "The model's service sent an answer that could not be read. Try again.";

/** A data-x chunk whose data nests `depth` levels of objects, as JSON text. */
const deepChunk = (depth: number) => `{"type":"data-x","data":${'{"a":'.repeat(depth)}1${"}".repeat(depth)}}`;

const { fake, gateway } = useStreamerGateway();

let errorLog: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  errorLog = vi.spyOn(log, "error");
});
afterEach(() => vi.restoreAllMocks());

describe("ChunkRepair", () => {
  // The chunk object is one level, `data` the rest.
  it(`passes a chunk of ${MAX_JSON_DEPTH} levels as it is`, () => {
    const chunk = JSON.parse(deepChunk(MAX_JSON_DEPTH - 1)) as UIMessageChunk;
    expect(new ChunkRepair().repair(chunk)).toEqual([chunk]);
  });

  it.each([MAX_JSON_DEPTH, 20_000])("refuses a chunk nested %i levels below it as malformed", (depth) => {
    const chunk = JSON.parse(deepChunk(depth)) as UIMessageChunk;
    let thrown: unknown;
    try {
      new ChunkRepair().repair(chunk);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UpstreamError);
    expect(thrown).toMatchObject({ code: "offline:chat", kind: "malformed" });
    expect((thrown as Error).message).toBe(
      `malformed chunk from streamer: arrays and objects nested deeper than ${MAX_JSON_DEPTH} levels`,
    );
  });

  it("refuses a deep value wherever it is, beside strings it repairs", () => {
    const chunk = JSON.parse(`{"type":"data-x","data":["\\u0000",${deepChunk(100_000)}]}`) as UIMessageChunk;
    expect(() => new ChunkRepair().repair(chunk)).toThrow(UpstreamError);
  });
});

describe("readChunks", () => {
  it("fails with malformed on a chunk nested 20,000 deep", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`data: {"type":"start"}\n\ndata: ${deepChunk(20_000)}\n\n`));
        controller.close();
      },
    });
    const read = (async () => {
      for await (const _ of readChunks(upstreamBodyOf(body), { idleTimeoutMs: 1000 }));
    })();
    expect(await upstreamFailure(read)).toMatchObject({ kind: "malformed" });
  });
});

describe("a turn", () => {
  it("whose streamer sends a chunk nested 20,000 deep fails as unreadable, its text so far stored", async () => {
    fake.handle(respond([...turnHead(), ...textDeltas("t1", "So far."), deepChunk(20_000), ...turnTail()]));
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Hello?");
    const turn = await subscribeWithFetch(gateway.url, variables, { token, signal: AbortSignal.timeout(10_000) });
    expect(turn.events.at(-1)).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", reason: UNREADABLE });
    const { chat } = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: variables.input.chatId }, token));
    const answer = chat.messages.edges.at(-1).node;
    expect(answer).toMatchObject({ role: "ASSISTANT", status: "FAILED" });
    expect(JSON.stringify(answer.parts)).toContain("So far.");
    expect(errorLog).not.toHaveBeenCalled();
  });
});
