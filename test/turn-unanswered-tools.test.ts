// The history sent upstream: tool calls the model left to the client and that
// got no answer go as output-error; everything else goes as stored.
import type { UIMessage } from "ai";
import { describe, expect, it } from "vitest";
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
