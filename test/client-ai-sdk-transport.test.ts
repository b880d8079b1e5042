// GatewayChatTransport driving the AI SDK's chat state (@ai-sdk/react's Chat,
// the object useChat wraps) against a real gateway and a streamer the test
// controls: what the user sees in chat.messages is what the gateway stores,
// a second tab reconnects to a running turn, stop() stops it, regenerate
// replaces the answer, and refusals surface with the Chat SDK's codes.
import { randomUUID } from "node:crypto";
import { Chat } from "@ai-sdk/react";
import {
  lastAssistantMessageIsCompleteWithToolCalls,
  readUIMessageStream,
  safeValidateUIMessages,
  type UIMessage,
} from "ai";
import { print } from "graphql";
import { describe, expect, test, vi } from "vitest";
import { gatewayId } from "../client/ai-sdk-ids.ts";
import { toUIMessages } from "../client/ai-sdk-messages.ts";
import { ChatDocument } from "../client/generated/graphql.ts";
import type { ChatMessage } from "../client/stream.ts";
import { GatewayChatTransport, type GatewayChatTransportOptions } from "../client/ai-sdk-transport.ts";
import type { GatewayError } from "../client/core.ts";
import { CREATE_CHAT, expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, textDeltas, textTurn, turnHead, USAGE_METADATA, heldTextTurn } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";

failOnUnhandledRejections();

const { fake, gateway } = useStreamerGateway();

async function transportFor(user = newUser(), options: Partial<GatewayChatTransportOptions> = {}) {
  const token = await gateway.tokenFor(user);
  // An async header function, as an app that refreshes its token would pass.
  const transport = new GatewayChatTransport({
    url: `${gateway.url}/graphql`,
    headers: async () => ({ authorization: `Bearer ${token}` }),
    ...options,
  });
  return { user, transport };
}

function chatWith(transport: GatewayChatTransport, id = randomUUID()) {
  return new Chat({ id, transport, generateId: randomUUID });
}

const json = (value: unknown) => JSON.parse(JSON.stringify(value));
const textOf = (message: UIMessage | undefined) =>
  (message?.parts ?? []).flatMap((part) => (part.type === "text" ? [part.text] : [])).join("");

async function storedMessages(chatId: string) {
  return gateway.database.db.prisma.message.findMany({ where: { chatId }, orderBy: { createdAt: "asc" } });
}

/** The UIMessage as stored: id and parts (the gateway keeps no metadata). */
async function storedAssistant(chatId: string) {
  const rows = await storedMessages(chatId);
  const row = rows.findLast((message) => message.role === "assistant");
  return row && { id: row.id, role: "assistant", status: row.status, parts: json(row.parts) };
}

/** A streamer answer that waits for `release()` after its first deltas: a turn that is still running. */
function heldAnswer(text: string) {
  const { promise: released, resolve: release } = Promise.withResolvers<void>();
  return { handler: heldTextTurn("First part. ", text, () => released), release };
}

async function fold(stream: ReadableStream<import("ai").UIMessageChunk>) {
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({ stream })) last = message;
  return last;
}

const RICH_TURN = [
  { type: "start", messageId: "streamer-message-id" },
  { type: "start-step" },
  { type: "reasoning-start", id: "r1" },
  { type: "reasoning-delta", id: "r1", delta: "The user wants the weather." },
  { type: "reasoning-end", id: "r1" },
  { type: "text-start", id: "t1" },
  ...textDeltas("t1", "Let me look that up."),
  { type: "text-end", id: "t1" },
  { type: "tool-input-start", toolCallId: "call-1", toolName: "weather" },
  { type: "tool-input-delta", toolCallId: "call-1", inputTextDelta: '{"city":' },
  { type: "tool-input-delta", toolCallId: "call-1", inputTextDelta: '"Oslo"}' },
  { type: "tool-input-available", toolCallId: "call-1", toolName: "weather", input: { city: "Oslo" } },
  { type: "tool-output-available", toolCallId: "call-1", output: { celsius: 4 } },
  { type: "finish-step" },
  { type: "start-step" },
  // Streamers number text parts per step: the same id starts a new part.
  { type: "text-start", id: "t1" },
  ...textDeltas("t1", "It is 4 degrees in Oslo."),
  { type: "text-end", id: "t1" },
  { type: "source-url", sourceId: "src-1", url: "https://weather.example/oslo", title: "Oslo weather" },
  { type: "data-forecast", id: "f1", data: { celsius: 3 } },
  { type: "data-forecast", id: "f1", data: { celsius: 4 } },
  { type: "data-progress", data: { step: "done" }, transient: true },
  { type: "custom", kind: "openai.compaction", providerMetadata: { openai: { itemId: "c1" } } },
  { type: "file", url: "data:image/png;base64,iVBORw0KGgo=", mediaType: "image/png" },
  { type: "finish-step" },
  { type: "finish", finishReason: "stop", messageMetadata: USAGE_METADATA },
];

describe("GatewayChatTransport with the AI SDK's chat state", () => {
  test("a whole turn folds into the message the gateway stores, with usage as metadata", async () => {
    fake.handle(respond(RICH_TURN));
    const { transport } = await transportFor();
    const chat = chatWith(transport);
    await chat.sendMessage({ text: "What is the weather in Oslo?" });

    expect(chat.status).toBe("ready");
    expect(chat.error).toBeUndefined();
    const [user, assistant] = chat.messages;
    expect(chat.messages).toHaveLength(2);
    const rows = await storedMessages(chat.id);
    expect(rows.map((row) => row.id)).toEqual([user.id, assistant.id]);
    const stored = await storedAssistant(chat.id);
    expect(stored?.status).toBe("complete");
    expect(json(assistant.parts)).toEqual(stored?.parts);
    expect(stored?.parts.map((part: { type: string }) => part.type)).toEqual([
      "step-start",
      "reasoning",
      "text",
      "tool-weather",
      "step-start",
      "text",
      "source-url",
      "data-forecast",
      "custom",
      "file",
    ]);
    expect(assistant.metadata).toMatchObject({
      finishReason: "stop",
      usage: { inputTokens: 11, outputTokens: 7, totalTokens: 18, model: "fake-model" },
    });
  });

  test("a client-side tool's answer (addToolOutput, sent again automatically) is stored for the next turn", async () => {
    fake.handle(
      respond([
        ...turnHead(),
        { type: "tool-input-available", toolCallId: "ask-1", toolName: "askUser", input: { question: "Proceed?" } },
        { type: "finish-step" },
        { type: "finish", finishReason: "tool-calls" },
      ]),
    );
    const { transport } = await transportFor();
    const chat = new Chat({
      id: randomUUID(),
      transport,
      generateId: randomUUID,
      sendAutomaticallyWhen: lastAssistantMessageIsCompleteWithToolCalls,
    });
    await chat.sendMessage({ text: "Shall we?" });
    expect(chat.messages.at(-1)?.parts).toContainEqual(
      expect.objectContaining({ type: "tool-askUser", state: "input-available" }),
    );
    const requests = fake.requests.length;
    await chat.addToolOutput({ tool: "askUser", toolCallId: "ask-1", output: { answer: "yes" } });
    await vi.waitFor(async () => {
      const stored = await storedAssistant(chat.id);
      expect(stored?.parts).toContainEqual(
        expect.objectContaining({ toolCallId: "ask-1", state: "output-available", output: { answer: "yes" } }),
      );
    });
    await vi.waitFor(() => expect(chat.status).toBe("ready"));
    expect(chat.error).toBeUndefined();
    // Or useChat would send the chat again and again.
    expect(lastAssistantMessageIsCompleteWithToolCalls({ messages: chat.messages })).toBe(false);
    // No turn without a user message: the answer waits for the user's next one.
    expect(fake.requests.length).toBe(requests);
    // The same answer sent again (a retry, another tab): stored already, skipped, no error.
    const again = await transport.sendMessages({
      chatId: chat.id,
      messages: chat.messages,
      trigger: "submit-message",
      messageId: undefined,
      abortSignal: undefined,
    });
    const chunks: { type: string }[] = [];
    for await (const chunk of again as unknown as AsyncIterable<{ type: string }>) chunks.push(chunk);
    expect(chunks.map((chunk) => chunk.type)).toEqual(["start-step", "finish-step", "finish"]);
    fake.handle(respond(textTurn("Going ahead.")));
    await chat.sendMessage({ text: "Go on." });
    expect(fake.requests.at(-1)!.body.existingMessages[1].parts).toContainEqual(
      expect.objectContaining({ toolCallId: "ask-1", state: "output-available", output: { answer: "yes" } }),
    );
  });

  test("tool approvals: asked for and denied show live as stored, and a reloaded chat holds them as the AI SDK validates them", async () => {
    fake.handle(
      respond([
        { type: "start" },
        { type: "start-step" },
        { type: "tool-input-available", toolCallId: "pay-1", toolName: "pay", input: { euros: 5 } },
        { type: "tool-approval-request", toolCallId: "pay-1", approvalId: "approval-1", reason: "Spends money" },
        { type: "tool-input-available", toolCallId: "pay-2", toolName: "pay", input: { euros: 500 } },
        // Denied by the streamer's own rule.
        { type: "tool-approval-request", toolCallId: "pay-2", approvalId: "approval-2", isAutomatic: true },
        { type: "tool-approval-response", approvalId: "approval-2", approved: false, reason: "Over the limit" },
        { type: "tool-output-denied", toolCallId: "pay-2" },
        { type: "finish-step" },
        { type: "finish", finishReason: "tool-calls" },
      ]),
    );
    const { user, transport } = await transportFor();
    const chat = chatWith(transport);
    await chat.sendMessage({ text: "Pay the bills." });
    expect(chat.error).toBeUndefined();
    const assistant = chat.messages.at(-1)!;
    const stored = await storedAssistant(chat.id);
    expect(json(assistant.parts)).toEqual(stored?.parts);
    expect(assistant.parts).toContainEqual(
      expect.objectContaining({
        toolCallId: "pay-1",
        state: "approval-requested",
        approval: { id: "approval-1", requestReason: "Spends money" },
      }),
    );
    expect(assistant.parts).toContainEqual(
      expect.objectContaining({
        toolCallId: "pay-2",
        state: "output-denied",
        approval: { id: "approval-2", isAutomatic: true, approved: false, reason: "Over the limit" },
      }),
    );

    const { chat: reloaded } = expectOk(
      await gateway.gql(print(ChatDocument), { id: chat.id }, await gateway.tokenFor(user)),
    );
    const messages = toUIMessages(reloaded.messages.edges.map((edge: { node: ChatMessage }) => edge.node));
    const validated = await safeValidateUIMessages({ messages });
    expect(validated.success || String(validated.error)).toBe(true);
    expect(json(messages.at(-1)!.parts)).toEqual(json(assistant.parts));
  });

  test("a second transport reconnects to a running turn and folds the same message", async () => {
    const held = heldAnswer("Second part.");
    fake.handle(held.handler);
    const { user, transport } = await transportFor();
    const chat = chatWith(transport);
    const sent = chat.sendMessage({ text: "Tell me in two parts." });
    await expect.poll(() => textOf(chat.messages[1])).toBe("First part. ");

    // Another tab of the same user: a new transport, useChat's resume on load.
    const { transport: other } = await transportFor(user);
    const stream = await other.reconnectToStream({ chatId: chat.id });
    expect(stream).not.toBeNull();
    const folded = fold(stream!);
    held.release();
    const [resumed] = await Promise.all([folded, sent]);

    const stored = await storedAssistant(chat.id);
    expect(textOf(resumed)).toBe("First part. Second part.");
    expect(resumed?.id).toBe(stored?.id);
    expect(json(resumed?.parts)).toEqual(stored?.parts);
    expect(json(chat.messages[1].parts)).toEqual(stored?.parts);
  });

  test("reconnecting with no turn to resume gives null; a turn that just ended replays to its end", async () => {
    const user = newUser();
    const { transport } = await transportFor(user);
    // useChat's resume on a new chat's page: the chat does not exist yet.
    expect(await transport.reconnectToStream({ chatId: randomUUID() })).toBeNull();
    const chatId = randomUUID();
    expectOk(await gateway.gql(CREATE_CHAT, { input: { id: chatId, title: "Empty" } }, await gateway.tokenFor(user)));
    expect(await transport.reconnectToStream({ chatId })).toBeNull();

    fake.handle(respond(textTurn("Hello.")));
    const chat = chatWith(transport, chatId);
    await chat.sendMessage({ text: "Hi" });
    const replay = await transport.reconnectToStream({ chatId });
    // Within the gateway's retention the ended turn replays: the same message again.
    expect(replay).not.toBeNull();
    expect(json((await fold(replay!))?.parts)).toEqual((await storedAssistant(chatId))?.parts);
  });

  test("an abort while reconnecting is still connecting never stops the turn (React StrictMode's double resume)", async () => {
    const held = heldAnswer("Not stopped.");
    fake.handle(held.handler);
    const { user, transport } = await transportFor();
    const chat = chatWith(transport);
    const sent = chat.sendMessage({ text: "Run on." });
    await expect.poll(() => textOf(chat.messages[1])).toBe("First part. ");

    const { transport: other } = await transportFor(user);
    const aborted = new AbortController();
    const reconnecting = other.reconnectToStream({ chatId: chat.id, abortSignal: aborted.signal });
    aborted.abort();
    expect(await reconnecting).toBeNull();
    held.release();
    await sent;
    expect(textOf(chat.messages[1])).toBe("First part. Not stopped.");
    expect((await storedAssistant(chat.id))?.status).toBe("complete");
  });

  test("stop() stops the turn at the gateway: the partial answer is stored as ABORTED", async () => {
    const held = heldAnswer("Never sent.");
    fake.handle(held.handler);
    const { transport } = await transportFor();
    const chat = chatWith(transport);
    const sent = chat.sendMessage({ text: "Go on forever." });
    await expect.poll(() => textOf(chat.messages[1])).toBe("First part. ");
    await chat.stop();
    await sent;

    expect(chat.status).toBe("ready");
    await expect.poll(async () => (await storedAssistant(chat.id))?.status).toBe("aborted");
    const stored = await storedAssistant(chat.id);
    expect(textOf(stored as UIMessage)).toBe("First part. ");
    expect(chat.messages[1].id).toBe(stored?.id);
    held.release();
  });

  test('with onAbort "disconnect", aborting only closes the connection: the turn finishes and resumes', async () => {
    const held = heldAnswer("Still coming.");
    fake.handle(held.handler);
    const { transport } = await transportFor(newUser(), { onAbort: "disconnect" });
    const chat = chatWith(transport);
    const sent = chat.sendMessage({ text: "Keep going." });
    await expect.poll(() => textOf(chat.messages[1])).toBe("First part. ");
    await chat.stop();
    await sent;

    const stream = await transport.reconnectToStream({ chatId: chat.id });
    expect(stream).not.toBeNull();
    const folded = fold(stream!);
    held.release();
    expect(textOf(await folded)).toBe("First part. Still coming.");
    await expect.poll(async () => (await storedAssistant(chat.id))?.status).toBe("complete");
  });

  test("regenerate replaces the last answer, in the chat state and in the stored chat", async () => {
    let answers = 0;
    fake.handle((call) => respond(textTurn(`Answer ${++answers}.`))(call));
    const { transport } = await transportFor();
    const chat = chatWith(transport);
    await chat.sendMessage({ text: "Pick a number." });
    const [user, first] = chat.messages;
    expect(textOf(first)).toBe("Answer 1.");

    await chat.regenerate();
    expect(chat.error).toBeUndefined();
    expect(chat.messages).toHaveLength(2);
    expect(chat.messages[0].id).toBe(user.id);
    expect(textOf(chat.messages[1])).toBe("Answer 2.");
    expect(chat.messages[1].id).not.toBe(first.id);
    const rows = await storedMessages(chat.id);
    expect(rows.map((row) => row.id)).toEqual([user.id, chat.messages[1].id]);
  });

  test("editing a sent message replaces it and its answer, keeping its id", async () => {
    fake.handle((call) => respond(textTurn(`You said ${call.userText}.`))(call));
    const { transport } = await transportFor();
    const chat = chatWith(transport);
    await chat.sendMessage({ text: "first" });
    await chat.sendMessage({ text: "second" });
    const edited = chat.messages[2];

    await chat.sendMessage({ text: "second, edited", messageId: edited.id });
    expect(chat.error).toBeUndefined();
    expect(chat.messages.map(textOf)).toEqual([
      "first",
      "You said first.",
      "second, edited",
      "You said second, edited.",
    ]);
    const rows = await storedMessages(chat.id);
    expect(rows.map((row) => row.id)).toEqual(chat.messages.map((message) => message.id));
    expect(rows[2].id).toBe(edited.id);
    expect(json(rows[2].parts)).toEqual([{ type: "text", text: "second, edited" }]);
  });

  test("a step the streamer resets is dropped, and a turn that fails upstream errors the chat with its code", async () => {
    fake.handle(
      respond(
        [
          ...turnHead(),
          ...textDeltas("t1", "Dropped draft."),
          { type: "reset-step" },
          { type: "text-start", id: "t2" },
          ...textDeltas("t2", "Kept, then cut"),
        ],
        "destroy",
      ),
    );
    const { transport } = await transportFor();
    const chat = chatWith(transport);
    await chat.sendMessage({ text: "Fail half-way." });

    expect(chat.status).toBe("error");
    expect((chat.error as GatewayError).code).toBe("offline:chat");
    const stored = await storedAssistant(chat.id);
    expect(stored?.status).toBe("failed");
    expect(textOf(chat.messages[1])).toBe("Kept, then cut");
    expect(chat.messages[1].id).toBe(stored?.id);
    expect(textOf(stored as UIMessage)).toBe("Kept, then cut");
  });

  test("useChat's own short ids work unchanged: they map to the same UUIDs every time", async () => {
    let answers = 0;
    fake.handle((call) => respond(textTurn(`Answer ${++answers}.`))(call));
    const { transport } = await transportFor();
    // No id, no generateId: the AI SDK's defaults.
    const chat = new Chat({ transport });
    expect(chat.id).not.toMatch(/^[0-9a-f-]{36}$/);
    await chat.sendMessage({ text: "Hi" });
    await chat.regenerate();
    expect(chat.error).toBeUndefined();
    const [user, answer] = chat.messages;
    expect(textOf(answer)).toBe("Answer 2.");
    const rows = await storedMessages(gatewayId(chat.id));
    expect(rows.map((row) => row.id)).toEqual([gatewayId(user.id), answer.id]);
  });

  test("takes the Chat SDK's own body fields: selectedChatModel and selectedVisibilityType (lowercase)", async () => {
    const { transport } = await transportFor();
    for (const [body, visibility] of [
      [{ selectedChatModel: "chat-model-reasoning", selectedVisibilityType: "public" }, "public"],
      [{ model: "chat-model", visibility: "private" }, "private"],
      [{ visibility: "PUBLIC" }, "public"],
    ] as const) {
      fake.handle(respond(textTurn("Hi.")));
      const chat = chatWith(transport);
      await chat.sendMessage({ text: "Hello" }, { body });
      expect(chat.error).toBeUndefined();
      const sent = fake.requests.at(-1)!.body;
      if ("selectedChatModel" in body) expect(sent.selectedChatModel).toBe(body.selectedChatModel);
      if ("model" in body) expect(sent.selectedChatModel).toBe(body.model);
      expect(sent.selectedVisibilityType).toBe(visibility);
      const stored = await gateway.database.db.prisma.chat.findUniqueOrThrow({ where: { id: chat.id } });
      expect(stored.visibility).toBe(visibility);
    }
    const chat = chatWith(transport);
    await chat.sendMessage({ text: "Hello" }, { body: { visibility: "everyone" } });
    expect((chat.error as GatewayError).code).toBe("bad_request:api");
    expect((chat.error as GatewayError).message).toContain('visibility must be "public" or "private"');
  });

  test("a refusal surfaces as the chat's error with the Chat SDK code, and nothing is stored", async () => {
    const { transport } = await transportFor();
    const chat = chatWith(transport);
    await chat.sendMessage({ text: "x".repeat(2001) });
    expect(chat.status).toBe("error");
    expect((chat.error as GatewayError).code).toBe("bad_request:api");
    expect(await storedMessages(chat.id)).toEqual([]);
  });
});

describe("gatewayId", () => {
  test("keeps a UUID, and maps any other id to one UUID, the same each time, distinct per id", () => {
    const uuid = randomUUID();
    expect(gatewayId(uuid)).toBe(uuid);
    const ids = ["a", "b", "aB3xYz9Qw1Lm2Np4", "aB3xYz9Qw1Lm2Np5", "", "é🙂"];
    const mapped = ids.map(gatewayId);
    for (const id of mapped)
      expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(mapped).size).toBe(ids.length);
    expect(ids.map(gatewayId)).toEqual(mapped);
  });
});
