// The history sent upstream: tool calls the model left to the client and that
// got no answer go as output-error; everything else goes as stored.
import type { UIMessage, UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { streamChatTurn } from "../src/streamer/turn.ts";
import { closeUnansweredToolCalls, unansweredToolError } from "../src/turn/unanswered-tools.ts";

const waiting = { toolCallId: "c1", state: "input-available", input: { q: 1 } } as const;

describe("closeUnansweredToolCalls", () => {
  it("closes static and dynamic calls waiting for the client, and leaves the rest as they are", () => {
    const user: UIMessage = { id: "u", role: "user", parts: [{ type: "text", text: "hi" }] };
    const answered = { type: "tool-ask", toolCallId: "c2", state: "output-available", input: {}, output: 1 };
    const byProvider = {
      type: "tool-search",
      toolCallId: "c3",
      state: "input-available",
      input: {},
      providerExecuted: true,
    };
    const assistant = {
      id: "a",
      role: "assistant",
      parts: [
        { type: "text", text: "Asking." },
        { type: "tool-ask", ...waiting },
        { type: "dynamic-tool", toolName: "mcp", ...waiting, toolCallId: "c4" },
        answered,
        byProvider,
      ],
    } as UIMessage;
    const untouched = { id: "b", role: "assistant", parts: [answered] } as UIMessage;
    const [sentUser, sentAssistant, sentUntouched] = closeUnansweredToolCalls([user, assistant, untouched]);
    expect(sentUser).toBe(user);
    expect(sentUntouched).toBe(untouched);
    expect(sentAssistant.parts).toEqual([
      { type: "text", text: "Asking." },
      { type: "tool-ask", ...waiting, state: "output-error", errorText: unansweredToolError },
      {
        type: "dynamic-tool",
        toolName: "mcp",
        ...waiting,
        toolCallId: "c4",
        state: "output-error",
        errorText: unansweredToolError,
      },
      answered,
      byProvider,
    ]);
    // The stored message itself is not changed.
    expect(assistant.parts[1]).toMatchObject({ state: "input-available" });
  });
});

describe("tool calls waiting on an approval", () => {
  const call = { type: "tool-getWeather", toolCallId: "w1", input: { city: "Oslo" } } as const;
  const history = (approval: object, state: string): UIMessage[] => [
    { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text: "weather?" }] },
    {
      id: crypto.randomUUID(),
      role: "assistant",
      parts: [{ type: "step-start" }, { ...call, state, approval } as UIMessage["parts"][number]],
    },
  ];

  async function nextTurn(existingMessages: UIMessage[]): Promise<UIMessageChunk[]> {
    const stream = streamChatTurn({
      env: parseEnv({ MOCK_DELTA_DELAY_MS: "0", LOG_LEVEL: "silent" }),
      chatId: "chat-1",
      message: { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text: "[plain] go on" }] },
      existingMessages,
      selectedChatModel: "chat-model",
    });
    const chunks: UIMessageChunk[] = [];
    const reader = stream.getReader();
    for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
    return chunks;
  }

  it("an approved call that never ran goes as output-error, and the next turn is answered; denied or still asking goes as stored", async () => {
    const approved = history({ id: "a1", approved: true }, "approval-responded");
    // As stored, the AI SDK refuses the next model call: the approved call has no result.
    expect((await nextTurn(approved)).some((chunk) => chunk.type === "error")).toBe(true);
    const sent = closeUnansweredToolCalls(approved);
    expect(sent[1].parts[1]).toMatchObject({ state: "output-error", errorText: unansweredToolError });
    const chunks = await nextTurn(sent);
    expect(chunks.filter((chunk) => chunk.type === "error")).toEqual([]);
    expect(chunks.at(-1)?.type).toBe("finish");

    for (const [approval, state] of [
      [{ id: "a2", approved: false }, "approval-responded"],
      [{ id: "a3" }, "approval-requested"],
    ] as const) {
      const stored = history(approval, state);
      expect(closeUnansweredToolCalls(stored)[1]).toBe(stored[1]);
      expect((await nextTurn(stored)).filter((chunk) => chunk.type === "error")).toEqual([]);
    }
  });
});
