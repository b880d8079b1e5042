// The streaming turn end to end against the built-in streamer (mock model):
// the event sequence over both SSE clients, what is stored, the quota.
// Runs on PGlite, and on PostgreSQL when DATABASE_URL is set.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { mockModelActivity } from "../src/streamer/mock-model.ts";
import { expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { useTestGateway } from "./support/gateway.ts";
import {
  CHAT_WITH_MESSAGES,
  eventually,
  sendInput,
  subscribeWithClient,
  subscribeWithFetch,
  TERMINAL_TYPES,
  typenames,
  type StreamEvent,
} from "./support/sse.ts";

failOnUnhandledRejections();

const gateway = useTestGateway({}, { resetEachTest: false });

/** The mock model's two-step turn (reasoning, text, tool call; then the answer), as events. */
function expectMockTurnShape(events: StreamEvent[]) {
  const names = typenames(events);
  // Collapse runs of deltas: their count depends on the text.
  const collapsed = names.filter((name, i) => !(name.endsWith("Delta") && names[i - 1] === name));
  expect(collapsed).toEqual([
    "StreamStarted",
    "StepStarted",
    "ReasoningDelta",
    "TextDelta",
    "ToolInputStarted",
    "ToolInputDelta",
    "ToolInputAvailable",
    "ToolOutputAvailable",
    "StepFinished",
    "StepStarted",
    "TextDelta",
    "StepFinished",
    "StreamFinished",
  ]);
}

/** seq 0..n, StreamStarted first, exactly one terminal event and it is last. */
function expectWellFormed(events: StreamEvent[]) {
  expect(events.length).toBeGreaterThan(1);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events[0].__typename).toBe("StreamStarted");
  const terminals = events.filter((e) => TERMINAL_TYPES.includes(e.__typename));
  expect(terminals).toHaveLength(1);
  expect(events.at(-1)).toBe(terminals[0]);
}

async function chatOf(chatId: string, token: string) {
  return expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: chatId }, token)).chat;
}

describe("sendMessage with the mock model", () => {
  it("streams the full turn over the graphql-sse client and stores it", async () => {
    const user = newUser();
    const token = await gateway.tokenFor(user);
    const variables = sendInput("What is the weather in Paris?", { visibility: "PUBLIC" });
    const { input } = variables;

    const outcome = await subscribeWithClient(gateway.url, variables, { token });
    expect(outcome.error).toBeUndefined();
    expect(outcome.results.every((r) => r.errors === undefined)).toBe(true);
    const { events } = outcome;
    expectWellFormed(events);
    expectMockTurnShape(events);

    const started = events[0];
    expect(started).toMatchObject({ chatId: input.chatId, userMessageId: input.message.id });
    expect(started.streamId).toMatch(/^[0-9a-f-]{36}$/);
    expect(started.assistantMessageId).toMatch(/^[0-9a-f-]{36}$/);

    // The deltas spell what the stored message holds.
    const reasoning = events
      .filter((e) => e.__typename === "ReasoningDelta")
      .map((e) => e.delta)
      .join("");
    expect(reasoning).toBe("The user wants an answer. A weather lookup shows a tool call.");
    const tool = events.find((e) => e.__typename === "ToolInputAvailable")!;
    expect(tool).toMatchObject({ toolName: "getWeather", input: { city: "Paris" } });
    const toolOutput = events.find((e) => e.__typename === "ToolOutputAvailable")!;
    expect(toolOutput.toolCallId).toBe(tool.toolCallId);
    const toolDeltas = events.filter((e) => e.__typename === "ToolInputDelta");
    expect(toolDeltas.map((e) => e.delta).join("")).toBe('{"city":"Paris"}');

    const finished = events.at(-1)!;
    expect(finished.__typename).toBe("StreamFinished");
    expect(finished.finishReason).toBe("stop");
    expect(finished.usage).not.toBeNull();
    expect(finished.usage).toMatchObject({
      inputTokens: 100,
      outputTokens: 44,
      totalTokens: 144,
      reasoningTokens: 12,
      cachedInputTokens: 16,
    });
    expect(finished.usage.model).toEqual(expect.any(String));
    const message = finished.message;
    expect(message).toMatchObject({
      id: started.assistantMessageId,
      chatId: input.chatId,
      role: "ASSISTANT",
      status: "COMPLETE",
    });
    const texts = message.parts.filter((p: any) => p.__typename === "TextPart").map((p: any) => p.text);
    const streamedText = events
      .filter((e) => e.__typename === "TextDelta")
      .map((e) => e.delta)
      .join("");
    expect(texts.join("")).toBe(streamedText);
    expect(streamedText).toContain('You said: "What is the weather in Paris?"');
    expect(message.parts.map((p: any) => p.__typename)).toEqual([
      "StepStartPart",
      "ReasoningPart",
      "TextPart",
      "ToolPart",
      "StepStartPart",
      "TextPart",
    ]);
    expect(message.parts[3]).toMatchObject({
      toolCallId: tool.toolCallId,
      toolName: "getWeather",
      state: "output-available",
      input: { city: "Paris" },
      output: toolOutput.output,
    });

    // What a later query returns is exactly what StreamFinished carried.
    const chat = await chatOf(input.chatId, token);
    expect(chat).toMatchObject({ id: input.chatId, visibility: "PUBLIC", title: "What is the weather in Paris?" });
    const stored = chat.messages.edges.map((edge: any) => edge.node);
    expect(stored).toHaveLength(2);
    expect(stored[0]).toMatchObject({
      id: input.message.id,
      role: "USER",
      status: "COMPLETE",
      parts: [{ __typename: "TextPart", text: "What is the weather in Paris?" }],
    });
    expect(stored[1]).toEqual(message);
    expect(chat.lastContext).toEqual(finished.usage);

    // The Stream row is finished.
    const stream = await gateway.database.db.prisma.stream.findUnique({ where: { id: started.streamId } });
    expect(stream).toMatchObject({ chatId: input.chatId, status: "finished" });
  });

  it("streams the same sequence over a plain fetch, continuing the chat", async () => {
    const user = newUser();
    const token = await gateway.tokenFor(user);
    const first = sendInput("What is the weather in Rome?");
    const viaClient = await subscribeWithClient(gateway.url, first, { token });
    expectWellFormed(viaClient.events);

    const second = sendInput("And in Oslo?", { chatId: first.input.chatId });
    const viaFetch = await subscribeWithFetch(gateway.url, second, { token });
    expect(viaFetch.status).toBe(200);
    expect(viaFetch.contentType).toContain("text/event-stream");
    expect(viaFetch.completed).toBe(true);
    expect(viaFetch.frames.at(-1)!.event).toBe("complete");
    expect(viaFetch.frames.slice(0, -1).every((frame) => frame.event === "next")).toBe(true);
    expect(viaFetch.results.every((r) => r.errors === undefined)).toBe(true);
    expectWellFormed(viaFetch.events);
    expectMockTurnShape(viaFetch.events);
    // Distinct tool call ids across the chat, and the answer to the second question.
    const finished = viaFetch.events.at(-1)!;
    expect(finished.__typename).toBe("StreamFinished");
    const streamedText = viaFetch.events
      .filter((e) => e.__typename === "TextDelta")
      .map((e) => e.delta)
      .join("");
    expect(streamedText).toContain("Oslo");

    const chat = await chatOf(first.input.chatId, token);
    // An existing chat keeps its title and default visibility.
    expect(chat).toMatchObject({ title: "What is the weather in Rome?", visibility: "PRIVATE" });
    const stored = chat.messages.edges.map((edge: any) => edge.node);
    expect(stored.map((m: any) => m.role)).toEqual(["USER", "ASSISTANT", "USER", "ASSISTANT"]);
    expect(stored[1]).toEqual(viaClient.events.at(-1)!.message);
    expect(stored[3]).toEqual(finished.message);
    expect(chat.lastContext).toEqual(finished.usage);
  });

  it("takes its input under any variable name or inline, enums and directives included", async () => {
    const token = await gateway.tokenFor(newUser());
    const query = /* GraphQL */ `
      subscription Turn($turn: SendMessageInput!, $withDeltas: Boolean!) {
        sendMessage(input: $turn) {
          __typename
          ... on StreamEvent { seq }
          ... on TextDelta @include(if: $withDeltas) { delta }
        }
      }
    `;
    // Twice: the gateway compiles a document for its events from its second use on.
    for (const withDeltas of [false, true]) {
      const named = sendInput("[plain] Named", { visibility: "PUBLIC" });
      const viaNamed = await subscribeWithFetch(gateway.url, { turn: named.input, withDeltas }, { token, query });
      expect(viaNamed.results.every((r) => r.errors === undefined)).toBe(true);
      expectWellFormed(viaNamed.events);
      const delta = viaNamed.events.find((e) => e.__typename === "TextDelta")!;
      expect(delta).toEqual({ __typename: "TextDelta", seq: delta.seq, ...(withDeltas ? { delta: delta.delta } : {}) });
      if (withDeltas) expect(delta.delta).toEqual(expect.any(String));
      expect(await chatOf(named.input.chatId, token)).toMatchObject({ visibility: "PUBLIC" });
    }

    const chatId = randomUUID();
    const viaInline = await subscribeWithFetch(
      gateway.url,
      {},
      {
        token,
        query: /* GraphQL */ `
        subscription {
          sendMessage(input: { chatId: "${chatId}", message: { id: "${randomUUID()}", parts: [{ text: "[plain] Inline" }] }, visibility: PUBLIC }) {
            __typename
            ... on TextDelta { delta }
          }
        }
      `,
      },
    );
    expect(viaInline.results.every((r) => r.errors === undefined)).toBe(true);
    expect(viaInline.events.at(-1)!.__typename).toBe("StreamFinished");
    expect(
      viaInline.events
        .filter((e) => e.__typename === "TextDelta")
        .map((e) => e.delta)
        .join(""),
    ).toContain("Inline");
    expect(await chatOf(chatId, token)).toMatchObject({ visibility: "PUBLIC" });
  });

  it("runs the operation the request names, of a document with two", async () => {
    const token = await gateway.tokenFor(newUser());
    const query = /* GraphQL */ `
      subscription Names($input: SendMessageInput!) { sendMessage(input: $input) { __typename } }
      subscription Numbers($input: SendMessageInput!) { sendMessage(input: $input) { ... on StreamEvent { seq } } }
    `;
    for (const operationName of ["Names", "Numbers", "Names", "Numbers"]) {
      const { events } = await subscribeWithFetch(gateway.url, sendInput("[plain] Which?"), {
        token,
        query,
        operationName,
      });
      expect(events.length).toBeGreaterThan(2);
      for (const event of events)
        expect(Object.keys(event)).toEqual(operationName === "Names" ? ["__typename"] : ["seq"]);
    }
  });

  it("long titles are cut from the first text, and [plain] answers in one step", async () => {
    const token = await gateway.tokenFor(newUser());
    const text = `[plain]   ${"word ".repeat(40)}`;
    const variables = sendInput(text);
    const { events } = await subscribeWithFetch(gateway.url, variables, { token });
    expectWellFormed(events);
    expect(typenames(events).filter((name, i, all) => !(name === "TextDelta" && all[i - 1] === name))).toEqual([
      "StreamStarted",
      "StepStarted",
      "TextDelta",
      "StepFinished",
      "StreamFinished",
    ]);
    const chat = await chatOf(variables.input.chatId, token);
    expect(chat.title.length).toBeLessThanOrEqual(80);
    expect(chat.title.startsWith("[plain] word word")).toBe(true);
    expect(chat.title.endsWith("…")).toBe(true);
  });

  it("a model error ends in StreamFailed with the partial answer stored as FAILED", async () => {
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("[plain] [error] please");
    const { events } = await subscribeWithFetch(gateway.url, variables, { token });
    expectWellFormed(events);
    const failed = events.at(-1)!;
    expect(failed).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    // The model's own error text is logged, never sent.
    expect(failed.reason).toBe("The model ran into an error while answering. Try again.");
    expect(failed.partialMessage).toMatchObject({ role: "ASSISTANT", status: "FAILED" });
    const chat = await chatOf(variables.input.chatId, token);
    const stored = chat.messages.edges.map((edge: any) => edge.node);
    expect(stored.map((m: any) => [m.role, m.status])).toEqual([
      ["USER", "COMPLETE"],
      ["ASSISTANT", "FAILED"],
    ]);
    expect(stored[1]).toEqual(failed.partialMessage);
  });

  it("each turn counts against the daily quota", async () => {
    const guest = expectOk(await gateway.gql(`mutation { createGuestSession { token user { messagesLeftToday } } }`));
    const { token } = guest.createGuestSession;
    const left = async () =>
      expectOk(await gateway.gql(`{ me { messagesLeftToday } }`, {}, token)).me.messagesLeftToday;
    expect(await left()).toBe(20);
    const chatId = randomUUID();
    await subscribeWithFetch(gateway.url, sendInput("[plain] one", { chatId }), { token });
    expect(await left()).toBe(19);
    await subscribeWithClient(gateway.url, sendInput("[plain] two", { chatId }), { token });
    expect(await left()).toBe(18);
  });
});

describe("a client that goes away", () => {
  it("does not stop the turn: its STREAMING message shows in the chat, with parts checkpointed, until a stop", async () => {
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("[plain] [slow] tell me everything");
    const controller = new AbortController();
    const cancelledBefore = mockModelActivity.cancelled;
    const seen = await subscribeWithFetch(gateway.url, variables, {
      token,
      signal: controller.signal,
      onEvent: (_event, all) => {
        if (all.filter((e) => e.__typename === "TextDelta").length >= 3) controller.abort();
      },
    });
    expect(seen.aborted).toBe(true);
    const started = seen.events[0];
    const received = seen.events
      .filter((e) => e.__typename === "TextDelta")
      .map((e) => e.delta)
      .join("");

    // Every reader of the chat sees the turn running, and its answer growing (the checkpoint).
    const streaming = await eventually(async () => {
      const chat = await chatOf(variables.input.chatId, token);
      const answer = chat.messages.edges
        .map((edge: any) => edge.node)
        .find((m: any) => m.id === started.assistantMessageId);
      const text = answer?.parts.find((p: any) => p.__typename === "TextPart")?.text ?? "";
      return answer?.status === "STREAMING" && text.length > received.length && { chat, text };
    }, 8_000);
    expect(streaming.chat.messages.edges.map((edge: any) => [edge.node.role, edge.node.status])).toEqual([
      ["USER", "COMPLETE"],
      ["ASSISTANT", "STREAMING"],
    ]);
    expect(streaming.text.startsWith(received)).toBe(true);
    expect(mockModelActivity.cancelled).toBe(cancelledBefore);

    expect(await gateway.app.services.turns.stop(variables.input.chatId, "Stopped by the test.")).toBe(true);
    const prisma = gateway.database.db.prisma;
    const stored = await prisma.message.findUniqueOrThrow({ where: { id: started.assistantMessageId } });
    expect(stored.status).toBe("aborted");
    const text = (stored.parts as { type: string; text?: string }[]).find((p) => p.type === "text")?.text ?? "";
    expect(text.startsWith(streaming.text)).toBe(true);
    const stream = await prisma.stream.findUnique({ where: { id: started.streamId } });
    expect(stream?.status).toBe("aborted");
    // The built-in streamer (in this process) saw its request go away and stopped the model.
    await eventually(async () => mockModelActivity.cancelled > cancelledBefore);
  });
});
