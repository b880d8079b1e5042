// Direct mode's chunk source on its own: the in-process model call is bounded
// as the streamer's HTTP answer is.
import { describe, expect, it } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { mockModelActivity } from "../src/streamer/mock-model.ts";
import { directSource, streamerPayload } from "../src/turn/chunk-source.ts";
import type { PreparedTurn } from "../src/turn/prepare.ts";
import { UpstreamError } from "../src/turn/upstream.ts";
import { eventually } from "./support/sse.ts";

function turnSaying(text: string): PreparedTurn {
  return {
    chat: { id: "chat-1", visibility: "private" },
    userMessage: { id: "user-1", parts: [{ type: "text", text }] },
    selectedChatModel: "chat-model",
    existingMessages: [],
  } as unknown as PreparedTurn;
}

const env = parseEnv({
  STREAM_MODE: "direct",
  MOCK_DELTA_DELAY_MS: "0",
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "300",
  UPSTREAM_IDLE_TIMEOUT_MS: "300",
});

async function read(text: string): Promise<{ types: string[]; error: unknown }> {
  const types: string[] = [];
  try {
    for await (const chunk of directSource(env).open(turnSaying(text), new AbortController().signal))
      types.push(chunk.type);
    return { types, error: null };
  } catch (error) {
    return { types, error };
  }
}

describe("directSource", () => {
  it("a model that never answers fails on the first-chunk bound (the stream's own start chunks do not count), and its call is cancelled", async () => {
    const cancelled = mockModelActivity.cancelled;
    const { types, error } = await read("[plain] [hang] wait");
    expect(error).toBeInstanceOf(UpstreamError);
    expect(error).toMatchObject({ code: "offline:chat", kind: "first-byte-timeout" });
    expect(types[0]).toBe("start");
    await eventually(async () => mockModelActivity.cancelled > cancelled);
  });

  it("a model that keeps answering is not cut off", async () => {
    const { types, error } = await read("[plain] Hello there");
    expect(error).toBeNull();
    expect(types.at(-1)).toBe("finish");
  });
});

describe("streamerPayload", () => {
  it("moves the chat's history into the payload: a running turn no longer holds it", () => {
    const history = [{ id: "m1", role: "user", parts: [{ type: "text", text: "earlier" }] }];
    const turn = { ...turnSaying("now"), existingMessages: history } as PreparedTurn;
    const payload = streamerPayload(turn);
    expect(payload.existingMessages).toEqual(history);
    expect(payload.message.parts).toEqual([{ type: "text", text: "now" }]);
    expect(turn.existingMessages).toEqual([]);
  });
});
