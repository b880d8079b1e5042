// The live-message reducer (client/stream.ts) on event sequences the mock
// streamer does not produce: step resets, tool errors, sources, data parts,
// failures with and without a partial message.
import { describe, expect, test } from "vitest";
import { applyStreamEvent, startTurn, type StreamEvent, type TurnState } from "../client/stream.ts";

const chatId = "7a1e5c1e-3c1a-4f5e-9a53-0b0c7f6f2a11";
const assistantMessageId = "0d6a4b8e-31a5-4a55-8a8c-6c9e6d0e9c11";

/** An event without its seq (run numbers them), distributed over the union. */
type Unnumbered<T> = T extends unknown ? Omit<T, "seq"> : never;

function run(events: Unnumbered<StreamEvent>[]): TurnState {
  let state = startTurn({ chatId, message: { id: "u1", parts: [{ text: "hi" }] } });
  events.forEach((event, seq) => {
    state = applyStreamEvent(state, { ...event, seq } as StreamEvent);
  });
  return state;
}

const started = {
  __typename: "StreamStarted",
  streamId: "s1",
  chatId,
  userMessageId: "u1",
  assistantMessageId,
} as const;

describe("applyStreamEvent", () => {
  test("StepReset drops what the current step showed, and ids restart cleanly", () => {
    const state = run([
      started,
      { __typename: "StepStarted" },
      { __typename: "TextDelta", partId: "t1", delta: "kept" },
      { __typename: "StepFinished" },
      { __typename: "StepStarted" },
      { __typename: "TextDelta", partId: "t2", delta: "dropped" },
      { __typename: "ToolInputStarted", toolCallId: "c1", toolName: "search" },
      { __typename: "StepReset" },
      { __typename: "TextDelta", partId: "t2", delta: "again" },
    ]);
    expect(state.message?.parts).toEqual([
      { __typename: "StepStartPart", stepStart: true },
      { __typename: "TextPart", text: "kept" },
      { __typename: "StepStartPart", stepStart: true },
      { __typename: "TextPart", text: "again" },
    ]);
  });

  test("tool input streams as text, then the parsed input; an error replaces the output", () => {
    const streaming = run([
      started,
      { __typename: "ToolInputStarted", toolCallId: "c1", toolName: "search" },
      { __typename: "ToolInputDelta", toolCallId: "c1", delta: '{"q":' },
      { __typename: "ToolInputDelta", toolCallId: "c1", delta: '"x"}' },
    ]);
    expect(streaming.message?.parts).toEqual([
      {
        __typename: "ToolPart",
        toolCallId: "c1",
        toolName: "search",
        state: "input-streaming",
        input: '{"q":"x"}',
        output: null,
        errorText: null,
        approval: null,
      },
    ]);
    const failed = run([
      started,
      { __typename: "ToolInputAvailable", toolCallId: "c1", toolName: "search", input: { q: "x" } },
      { __typename: "ToolOutputError", toolCallId: "c1", errorText: "no network" },
    ]);
    expect(failed.message?.parts).toEqual([
      {
        __typename: "ToolPart",
        toolCallId: "c1",
        toolName: "search",
        state: "output-error",
        input: { q: "x" },
        output: null,
        errorText: "no network",
        approval: null,
      },
    ]);
  });

  test("a tool approval asked for, then answered and denied, as the stored part holds it", () => {
    const approvalOf = (state: TurnState) =>
      state.message?.parts.map((part) => part.__typename === "ToolPart" && [part.state, part.approval]);
    const events: Unnumbered<StreamEvent>[] = [
      started,
      { __typename: "ToolInputAvailable", toolCallId: "c1", toolName: "pay", input: { euros: 5 } },
      {
        __typename: "ToolApprovalRequested",
        toolCallId: "c1",
        approvalId: "a1",
        requestReason: "Spends",
        isAutomatic: true,
      },
    ];
    const asked = { id: "a1", approved: null, requestReason: "Spends", reason: null, isAutomatic: true };
    expect(approvalOf(run(events))).toEqual([["approval-requested", asked]]);
    events.push({
      __typename: "ToolApprovalResponded",
      toolCallId: "c1",
      approvalId: "a1",
      approved: false,
      responseReason: "Too much",
    });
    const answered = { ...asked, approved: false, reason: "Too much" };
    expect(approvalOf(run(events))).toEqual([["approval-responded", answered]]);
    events.push({ __typename: "ToolOutputDenied", toolCallId: "c1" });
    expect(approvalOf(run(events))).toEqual([["output-denied", answered]]);
  });

  test("an event type of a newer gateway changes nothing but the seq", () => {
    const before = run([started, { __typename: "TextDelta", partId: "t1", delta: "Hi" }]);
    const after = applyStreamEvent(before, { __typename: "ToolInputRefined", seq: 2 } as unknown as StreamEvent);
    expect(after.message).toEqual(before.message);
    expect(after.seq).toBe(2);
  });

  test("sources and data parts; a data part with an id is replaced, a transient one is kept aside", () => {
    const state = run([
      started,
      { __typename: "SourceUrl", sourceId: "src1", url: "https://example.com", title: "Example" },
      { __typename: "DataDelta", name: "weather", id: "w1", data: { step: 1 }, transient: false },
      { __typename: "DataDelta", name: "weather", id: "w1", data: { step: 2 }, transient: false },
      { __typename: "DataDelta", name: "progress", id: null, data: 50, transient: true },
    ]);
    expect(state.message?.parts).toEqual([
      { __typename: "SourceUrlPart", sourceId: "src1", url: "https://example.com", title: "Example" },
      { __typename: "DataPart", name: "weather", id: "w1", data: { step: 2 } },
    ]);
    expect(state.transientData.map((d) => d.data)).toEqual([50]);
  });

  test("StreamFailed keeps the shown part as FAILED when no partial message came, with the code", () => {
    const state = run([
      started,
      { __typename: "TextDelta", partId: "t1", delta: "Half" },
      { __typename: "StreamFailed", code: "offline:chat", reason: "The model went away.", partialMessage: null },
    ]);
    expect(state.status).toBe("failed");
    expect(state.error).toEqual({ code: "offline:chat", message: "The model went away." });
    expect(state.message).toMatchObject({
      id: assistantMessageId,
      status: "FAILED",
      parts: [{ __typename: "TextPart", text: "Half" }],
    });
    const empty = run([
      started,
      { __typename: "StreamFailed", code: "offline:chat", reason: "down", partialMessage: null },
    ]);
    expect(empty.message).toBeNull();
  });

  test("a turn stopped or failed after a step began but before any part shows no message, as the gateway stores none", () => {
    for (const terminal of [
      { __typename: "StreamAborted", reason: "Stopped.", partialMessage: null },
      { __typename: "StreamFailed", code: "offline:chat", reason: "down", partialMessage: null },
    ] as const) {
      const state = run([
        started,
        { __typename: "StepStarted" },
        { __typename: "ReasoningDelta", partId: "r1", delta: "" },
        terminal,
      ]);
      expect(state.status).toBe(terminal.__typename === "StreamAborted" ? "stopped" : "failed");
      expect(state.message).toBeNull();
    }
    const shown = run([
      started,
      { __typename: "StepStarted" },
      { __typename: "TextDelta", partId: "t1", delta: "Half" },
      { __typename: "StreamAborted", reason: "Stopped.", partialMessage: null },
    ]);
    expect(shown.message).toMatchObject({
      status: "ABORTED",
      parts: [{ __typename: "StepStartPart" }, { text: "Half" }],
    });
  });

  test("every state is a new object, so React sees each change", () => {
    const a = run([started, { __typename: "TextDelta", partId: "t1", delta: "a" }]);
    const b = applyStreamEvent(a, { __typename: "TextDelta", partId: "t1", delta: "b", seq: 2 });
    expect(b).not.toBe(a);
    expect(b.message).not.toBe(a.message);
    expect(b.message?.parts).not.toBe(a.message?.parts);
    expect(a.message?.parts).toEqual([{ __typename: "TextPart", text: "a" }]);
    expect(b.message?.parts).toEqual([{ __typename: "TextPart", text: "ab" }]);
  });
});
