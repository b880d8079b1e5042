// The streaming turn against a streamer the test controls: what the gateway
// sends upstream, and every way the upstream can fail. Each failure ends with
// exactly one terminal event, last, the user message stored, and the partial
// answer stored as the contract says. Runs on PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { decodeJwt, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import { expectNoInternals, expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import {
  closedPort,
  respond,
  textDeltas,
  textTurn,
  turnHead,
  turnTail,
  USAGE_METADATA,
  type FakeHandler,
  slowTextTurn,
} from "./support/fake-streamer.ts";
import { useStreamerGateway, useTestGateway, type TestGateway } from "./support/gateway.ts";
import {
  CHAT_WITH_MESSAGES,
  STOP_STREAM,
  eventually,
  sendInput,
  subscribeWithClient,
  subscribeWithFetch,
  TERMINAL_TYPES,
  type StreamEvent,
  streamedText,
} from "./support/sse.ts";

failOnUnhandledRejections();

const INTERNAL_SECRET = "upstream-test-internal-secret-0123456789abcdef";

const timeouts = { UPSTREAM_IDLE_TIMEOUT_MS: "300", UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "500" };
// A short owner lease: the database-failure test waits for the sweep.
const { fake, gateway } = useStreamerGateway({
  NEXTJS_INTERNAL_TOKEN: INTERNAL_SECRET,
  TURN_LEASE_SECONDS: "3",
  ...timeouts,
});
const unreachableGateway = useTestGateway(
  async () => ({ STREAMER_URL: `http://127.0.0.1:${await closedPort()}`, ...timeouts }),
  { resetEachTest: false },
);

function expectWellFormed(events: StreamEvent[]) {
  expect(events.length).toBeGreaterThan(1);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events[0].__typename).toBe("StreamStarted");
  expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
  expect(TERMINAL_TYPES).toContain(events.at(-1)!.__typename);
}

async function storedMessages(target: TestGateway, chatId: string, token: string) {
  const { chat } = expectOk(await target.gql(CHAT_WITH_MESSAGES, { id: chatId }, token));
  return { chat, messages: chat.messages.edges.map((edge: any) => edge.node) as any[] };
}

/**
 * One turn against `target` with `handler` answering upstream; checks the
 * stream's shape and that the user message was stored. Returns the terminal
 * event, the events and what the chat holds afterwards.
 */
async function turn(handler: FakeHandler | null, options: { target?: TestGateway; text?: string } = {}) {
  const target = options.target ?? gateway;
  if (handler) fake.handle(handler);
  const token = await target.tokenFor(newUser());
  const variables = sendInput(options.text ?? "Hello?");
  const before = fake.requests.length;
  const started = Date.now();
  const result = await subscribeWithFetch(target.url, variables, { token });
  const elapsedMs = Date.now() - started;
  expect(result.completed).toBe(true);
  expect(result.results.every((r) => r.errors === undefined)).toBe(true);
  expectWellFormed(result.events);
  const { chat, messages } = await storedMessages(target, variables.input.chatId, token);
  expect(messages[0]).toMatchObject({
    id: variables.input.message.id,
    role: "USER",
    status: "COMPLETE",
    parts: [{ __typename: "TextPart", text: options.text ?? "Hello?" }],
  });
  return {
    terminal: result.events.at(-1)!,
    events: result.events,
    chat,
    messages,
    request: fake.requests.length > before ? fake.requests.at(-1)! : null,
    elapsedMs,
    token,
    variables,
  };
}

describe("streamer failures", () => {
  it("a streamer that refuses connections: StreamFailed offline:chat", async () => {
    const { terminal, events, messages } = await turn(null, { target: unreachableGateway });
    expect(events.map((e) => e.__typename)).toEqual(["StreamStarted", "StreamFailed"]);
    expect(terminal).toMatchObject({ code: "offline:chat", partialMessage: null });
    expect(terminal.reason).toBe("The model's service is unavailable. Try again shortly.");
    expect(messages).toHaveLength(1);
  });

  it("HTTP 500: StreamFailed offline:chat", async () => {
    const { terminal, events, messages, request } = await turn((call) => {
      call.res.writeHead(500, { "content-type": "application/json" });
      call.res.end(JSON.stringify({ code: "offline:chat", message: "model provider down" }));
    });
    expect(request).not.toBeNull();
    expect(events.map((e) => e.__typename)).toEqual(["StreamStarted", "StreamFailed"]);
    expect(terminal).toMatchObject({ code: "offline:chat", partialMessage: null });
    expect(terminal.reason).toBe("The model's service is unavailable. Try again shortly.");
    expect(messages).toHaveLength(1);
  });

  it("the connection dies mid-stream: StreamFailed, the text so far stored as FAILED", async () => {
    const { terminal, events, messages } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "Partial answer")], "destroy"),
    );
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    expect(streamedText(events)).toBe("Partial answer");
    expect(terminal.partialMessage).toMatchObject({
      id: events[0].assistantMessageId,
      role: "ASSISTANT",
      status: "FAILED",
    });
    const texts = terminal.partialMessage.parts.filter((p: any) => p.__typename === "TextPart");
    expect(texts).toEqual([{ __typename: "TextPart", text: "Partial answer" }]);
    expect(messages).toHaveLength(2);
    expect(messages[1]).toEqual(terminal.partialMessage);
  });

  it("garbage instead of chunk JSON: StreamFailed, the text before it stored as FAILED", async () => {
    const { terminal, events, messages } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "Before"), "this is not json {", ...turnTail()]),
    );
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    expect(terminal.reason).toBe("The model's service sent an answer that could not be read. Try again.");
    expect(streamedText(events)).toBe("Before");
    expect(terminal.partialMessage).toMatchObject({ status: "FAILED" });
    expect(messages[1]).toEqual(terminal.partialMessage);
  });

  it("a chunk of a known type with the wrong shape: StreamFailed", async () => {
    const { terminal, messages } = await turn(
      respond([...turnHead(), { type: "text-delta", id: "t1" }, ...turnTail()]),
    );
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    expect(terminal.reason).toBe("The model's service sent an answer that could not be read. Try again.");
    expect(messages.length).toBeLessThanOrEqual(2);
  });

  it("an error chunk: StreamFailed, the partial answer stored as FAILED", async () => {
    const { terminal, events, messages } = await turn(
      respond([
        ...turnHead(),
        ...textDeltas("t1", "So far so good"),
        { type: "error", errorText: "The model provider exploded." },
        ...turnTail(null, "error"),
      ]),
    );
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    expect(terminal.reason).toBe("The model ran into an error while answering. Try again.");
    expect(streamedText(events)).toBe("So far so good");
    expect(terminal.partialMessage).toMatchObject({ role: "ASSISTANT", status: "FAILED" });
    expect(terminal.partialMessage.parts).toContainEqual({ __typename: "TextPart", text: "So far so good" });
    expect(messages[1]).toEqual(terminal.partialMessage);
  });

  it("an abort chunk: StreamAborted, the partial answer stored as ABORTED", async () => {
    const { terminal, events, messages, chat } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "Cut short"), { type: "abort", reason: "stopped upstream" }]),
    );
    expect(terminal.__typename).toBe("StreamAborted");
    expect(terminal.reason).toEqual(expect.any(String));
    expect(streamedText(events)).toBe("Cut short");
    expect(terminal.partialMessage).toMatchObject({ role: "ASSISTANT", status: "ABORTED" });
    expect(terminal.partialMessage.parts).toContainEqual({ __typename: "TextPart", text: "Cut short" });
    expect(messages[1]).toEqual(terminal.partialMessage);
    // No usage came: nothing recorded.
    expect(chat.lastContext).toBeNull();
  });

  it("an abort after reasoning began but before any text: StreamAborted, no empty answer stored", async () => {
    const { terminal, messages } = await turn(
      respond([
        { type: "start" },
        { type: "start-step" },
        { type: "reasoning-start", id: "r1" },
        { type: "text-start", id: "t1" },
        { type: "abort", reason: "stopped upstream" },
      ]),
    );
    expect(terminal).toMatchObject({ __typename: "StreamAborted", partialMessage: null });
    expect(messages.map((message) => message.role)).toEqual(["USER"]);
  });

  it("a body that ends with neither finish nor abort: StreamFailed", async () => {
    const { terminal, messages } = await turn(respond([...turnHead(), ...textDeltas("t1", "Unfinished")], "done"));
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    expect(terminal.partialMessage).toMatchObject({ status: "FAILED" });
    expect(terminal.partialMessage.parts).toContainEqual({ __typename: "TextPart", text: "Unfinished" });
    expect(messages[1]).toEqual(terminal.partialMessage);
  });

  it("a body closed without [DONE], finish or abort: StreamFailed", async () => {
    const { terminal } = await turn(respond([...turnHead(), ...textDeltas("t1", "Unfinished")], "close"));
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    expect(terminal.reason).toBe("The model's service stopped sending before the answer was complete. Try again.");
    expect(terminal.partialMessage).toMatchObject({ status: "FAILED" });
  });

  it("an empty 200 body: StreamFailed with nothing stored but the user message", async () => {
    const { terminal, messages } = await turn(respond([], "done"));
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", partialMessage: null });
    expect(messages).toHaveLength(1);
  });

  it("a streamer that goes silent after the headers: StreamFailed on the idle timeout", async () => {
    const { terminal, events, request, elapsedMs } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "Then silence")], "hang"),
    );
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    expect(terminal.reason).toBe("The model's service stopped responding. Try again.");
    expect(streamedText(events)).toBe("Then silence");
    expect(terminal.partialMessage).toMatchObject({ status: "FAILED" });
    expect(elapsedMs).toBeLessThan(3000);
    // The gateway hung up on the streamer.
    await eventually(async () => request!.closedEarly);
  });

  it("a streamer that never sends headers: StreamFailed on the first-byte timeout", async () => {
    const { terminal, events, request, messages, elapsedMs } = await turn(async (call) => {
      await call.closed;
    });
    expect(events.map((e) => e.__typename)).toEqual(["StreamStarted", "StreamFailed"]);
    expect(terminal).toMatchObject({ code: "offline:chat", partialMessage: null });
    expect(terminal.reason).toBe("The model's service did not answer in time. Try again shortly.");
    expect(elapsedMs).toBeLessThan(3000);
    expect(messages).toHaveLength(1);
    await eventually(async () => request!.closedEarly);
  });

  it("HTTP 429 and 400 keep their meaning; 401 (a refused internal token) is offline:chat", async () => {
    for (const [status, code, reason] of [
      [429, "rate_limit:chat", "The model's service is busy. Wait a moment and try again."],
      [400, "bad_request:api", "The model's service refused this message. Try rephrasing or shortening it."],
      [401, "offline:chat", "The model's service is unavailable. Try again shortly."],
    ] as const) {
      const { terminal, messages } = await turn((call) => {
        call.res.writeHead(status, { "content-type": "application/json" });
        call.res.end(JSON.stringify({ code: "x", message: `refused with ${status}` }));
      });
      expect(terminal).toMatchObject({ __typename: "StreamFailed", code, partialMessage: null });
      expect(terminal.reason).toBe(reason);
      expect(messages).toHaveLength(1);
    }
  });

  it("an answer that is not an event stream: StreamFailed", async () => {
    const { terminal } = await turn((call) => {
      call.res.writeHead(200, { "content-type": "text/html" });
      call.res.end("<html>login</html>");
    });
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", partialMessage: null });
  });

  it("an answer that is not an event stream, sent without a content type: could not be read", async () => {
    const { terminal, messages } = await turn((call) => {
      call.res.writeHead(200);
      call.res.end("<html>login</html>");
    });
    expect(terminal).toMatchObject({ __typename: "StreamFailed", code: "offline:chat", partialMessage: null });
    expect(terminal.reason).toBe("The model's service sent an answer that could not be read. Try again.");
    expect(messages).toHaveLength(1);
  });
});

describe("every event type", () => {
  it("reasoning, tool calls, sources and data parts arrive as events and are stored", async () => {
    const { terminal, events, messages } = await turn(
      respond([
        { type: "start", messageId: "m-1" },
        { type: "start-step" },
        { type: "reasoning-start", id: "r1" },
        { type: "reasoning-delta", id: "r1", delta: "Thinking" },
        { type: "reasoning-delta", id: "r1", delta: " hard." },
        { type: "reasoning-end", id: "r1" },
        { type: "tool-input-start", toolCallId: "c1", toolName: "search" },
        { type: "tool-input-delta", toolCallId: "c1", inputTextDelta: '{"q":' },
        { type: "tool-input-delta", toolCallId: "c1", inputTextDelta: '"cats"}' },
        { type: "tool-input-available", toolCallId: "c1", toolName: "search", input: { q: "cats" } },
        { type: "tool-output-available", toolCallId: "c1", output: { hits: 2 } },
        { type: "tool-input-start", toolCallId: "c2", toolName: "fetchPage" },
        { type: "tool-input-available", toolCallId: "c2", toolName: "fetchPage", input: { url: "https://x.test" } },
        { type: "tool-output-error", toolCallId: "c2", errorText: "HTTP 404" },
        { type: "source-url", sourceId: "s1", url: "https://example.com/cats", title: "Cats" },
        { type: "data-weather", id: "w1", data: { city: "Paris" } },
        { type: "data-progress", data: { percent: 50 }, transient: true },
        { type: "finish-step" },
        { type: "start-step" },
        { type: "text-start", id: "t1" },
        ...textDeltas("t1", "Cats are great."),
        { type: "text-end", id: "t1" },
        { type: "finish-step" },
        { type: "finish", finishReason: "stop" },
      ]),
    );
    const names = events.map((e) => e.__typename);
    expect(names.filter((name, i) => !(name === "TextDelta" && names[i - 1] === name))).toEqual([
      "StreamStarted",
      "StepStarted",
      "ReasoningDelta",
      "ReasoningDelta",
      "ToolInputStarted",
      "ToolInputDelta",
      "ToolInputDelta",
      "ToolInputAvailable",
      "ToolOutputAvailable",
      "ToolInputStarted",
      "ToolInputAvailable",
      "ToolOutputError",
      "SourceUrl",
      "DataDelta",
      "DataDelta",
      "StepFinished",
      "StepStarted",
      "TextDelta",
      "StepFinished",
      "StreamFinished",
    ]);
    const by = (name: string) => events.filter((e) => e.__typename === name);
    expect(by("ReasoningDelta").map((e) => [e.partId, e.delta])).toEqual([
      ["r1", "Thinking"],
      ["r1", " hard."],
    ]);
    expect(by("ToolInputStarted").map((e) => [e.toolCallId, e.toolName])).toEqual([
      ["c1", "search"],
      ["c2", "fetchPage"],
    ]);
    expect(
      by("ToolInputDelta")
        .map((e) => e.delta)
        .join(""),
    ).toBe('{"q":"cats"}');
    expect(by("ToolInputAvailable")[0]).toMatchObject({ toolCallId: "c1", toolName: "search", input: { q: "cats" } });
    expect(by("ToolOutputAvailable")[0]).toMatchObject({ toolCallId: "c1", output: { hits: 2 } });
    expect(by("ToolOutputError")[0]).toMatchObject({ toolCallId: "c2", errorText: "HTTP 404" });
    expect(by("SourceUrl")[0]).toMatchObject({ sourceId: "s1", url: "https://example.com/cats", title: "Cats" });
    expect(by("DataDelta").map((e) => [e.name, e.id, e.data])).toEqual([
      ["weather", "w1", { city: "Paris" }],
      ["progress", null, { percent: 50 }],
    ]);
    expect(by("TextDelta").every((e) => e.partId === "t1")).toBe(true);

    expect(terminal).toMatchObject({ __typename: "StreamFinished", finishReason: "stop", usage: null });
    expect(terminal.message.status).toBe("COMPLETE");
    expect(terminal.message.parts).toEqual([
      { __typename: "StepStartPart", stepStart: true },
      { __typename: "ReasoningPart", text: "Thinking hard." },
      {
        __typename: "ToolPart",
        toolCallId: "c1",
        toolName: "search",
        state: "output-available",
        input: { q: "cats" },
        output: { hits: 2 },
        errorText: null,
      },
      {
        __typename: "ToolPart",
        toolCallId: "c2",
        toolName: "fetchPage",
        state: "output-error",
        input: { url: "https://x.test" },
        output: null,
        errorText: "HTTP 404",
      },
      { __typename: "SourceUrlPart", sourceId: "s1", url: "https://example.com/cats", title: "Cats" },
      // The transient data part is live only.
      { __typename: "DataPart", name: "weather", id: "w1", data: { city: "Paris" } },
      { __typename: "StepStartPart", stepStart: true },
      { __typename: "TextPart", text: "Cats are great." },
    ]);
    expect(messages[1]).toEqual(terminal.message);
  });
});

describe("streams that must not fail", () => {
  it("keep-alive comments count as activity: no idle timeout", async () => {
    const { terminal } = await turn(async (call) => {
      call.startStream();
      for (const chunk of [...turnHead(), ...textDeltas("t1", "Wait")]) call.send(chunk);
      // 600 ms with no chunk, twice the idle timeout, but a comment every 100 ms.
      for (let i = 0; i < 6; i++) {
        await call.pause(100);
        call.res.write(": keep-alive\n\n");
      }
      for (const chunk of [...textDeltas("t1", "ed."), ...turnTail()]) call.send(chunk);
      call.done();
    });
    expect(terminal).toMatchObject({ __typename: "StreamFinished", finishReason: "stop" });
    expect(terminal.message.parts).toContainEqual({ __typename: "TextPart", text: "Waited." });
  });

  it("unknown chunk types from a newer AI SDK are skipped; a new finish reason passes through", async () => {
    const { terminal, events } = await turn(
      respond([
        ...turnHead(),
        { type: "future-chunk", payload: { anything: true } },
        ...textDeltas("t1", "Still fine."),
        { type: "text-end", id: "t1" },
        { type: "finish-step" },
        { type: "finish", finishReason: "future-reason", messageMetadata: USAGE_METADATA },
      ]),
    );
    expect(events.map((e) => e.__typename)).not.toContain("future-chunk");
    expect(terminal).toMatchObject({ __typename: "StreamFinished", finishReason: "future-reason" });
    expect(terminal.message.parts).toContainEqual({ __typename: "TextPart", text: "Still fine." });
  });

  it("a finish chunk without a reason (AI SDK 5) while a client's tool call waits: finishReason tool-calls", async () => {
    const { terminal } = await turn(
      respond([
        ...turnHead(),
        ...textDeltas("t1", "Let me ask."),
        { type: "text-end", id: "t1" },
        { type: "tool-input-available", toolCallId: "ask-2", toolName: "askUser", input: { question: "Sure?" } },
        { type: "finish-step" },
        { type: "finish" },
      ]),
    );
    expect(terminal).toMatchObject({ __typename: "StreamFinished", finishReason: "tool-calls" });
  });

  it("finishReason length is reported as is", async () => {
    const { terminal } = await turn(respond([...turnHead(), ...textDeltas("t1", "Cut"), ...turnTail(null, "length")]));
    expect(terminal).toMatchObject({ __typename: "StreamFinished", finishReason: "length", usage: null });
  });

  it("a tool call left to the client is stored as the model left it, and sent as output-error once the user goes on", async () => {
    const token = await gateway.tokenFor(newUser());
    const chatId = randomUUID();
    const ask = { toolCallId: "ask-1", toolName: "askUser", input: { question: "Proceed?" } };
    fake.handle(
      respond([
        ...turnHead(),
        ...textDeltas("t1", "Let me check."),
        { type: "tool-input-available", ...ask },
        ...turnTail(null, "tool-calls"),
      ]),
    );
    const first = await subscribeWithFetch(gateway.url, sendInput("Do it", { chatId }), { token });
    const finished = first.events.at(-1)!;
    expect(finished).toMatchObject({ __typename: "StreamFinished", finishReason: "tool-calls" });
    const tool = finished.message.parts.find((p: any) => p.__typename === "ToolPart");
    expect(tool).toMatchObject({ toolCallId: "ask-1", state: "input-available", input: { question: "Proceed?" } });

    // Sent as input-available, the AI SDK would refuse the history (AI_MissingToolResultsError) on every later turn.
    fake.handle(respond(textTurn("Fine.")));
    const second = await subscribeWithFetch(gateway.url, sendInput("Never mind", { chatId }), { token });
    expect(second.events.at(-1)!.__typename).toBe("StreamFinished");
    const sent = fake.requests.at(-1)!.body.existingMessages;
    expect(sent[1].parts).toContainEqual({
      type: "tool-askUser",
      toolCallId: "ask-1",
      state: "output-error",
      input: { question: "Proceed?" },
      errorText: expect.stringMatching(/without answering/),
    });
    const { convertToModelMessages } = await import("ai");
    await expect(
      convertToModelMessages([...sent, { id: "m", role: "user", parts: [{ type: "text", text: "x" }] }]),
    ).resolves.toBeDefined();
  });

  it("an interrupted tool call is stored as output-error and sent back so in the next turn", async () => {
    const token = await gateway.tokenFor(newUser());
    const chatId = randomUUID();
    fake.handle(
      respond([
        { type: "start" },
        { type: "start-step" },
        { type: "tool-input-start", toolCallId: "c9", toolName: "search" },
        { type: "tool-input-available", toolCallId: "c9", toolName: "search", input: { q: "dogs" } },
        { type: "abort" },
      ]),
    );
    const first = await subscribeWithFetch(gateway.url, sendInput("Find dogs", { chatId }), { token });
    const aborted = first.events.at(-1)!;
    expect(aborted.__typename).toBe("StreamAborted");
    const tool = aborted.partialMessage.parts.find((p: any) => p.__typename === "ToolPart");
    expect(tool).toMatchObject({ toolCallId: "c9", state: "output-error", input: { q: "dogs" } });
    expect(tool.errorText).toEqual(expect.any(String));

    fake.handle(respond(textTurn("Here.")));
    await subscribeWithFetch(gateway.url, sendInput("Again", { chatId }), { token });
    const sent = fake.requests.at(-1)!.body.existingMessages;
    expect(sent).toHaveLength(2);
    expect(sent[1].parts).toContainEqual(
      expect.objectContaining({ type: "tool-search", toolCallId: "c9", state: "output-error", input: { q: "dogs" } }),
    );
  });
});

describe("the request to the streamer", () => {
  it("is the seed's POST /api/chat/stream with a short-lived internal token", async () => {
    const user = newUser();
    const token = await gateway.tokenFor(user);
    const chatId = randomUUID();

    // Turn 1: a new public chat, the default model; the streamer aborts, so a partial is stored.
    fake.handle(respond([...turnHead(), ...textDeltas("t1", "First partial"), { type: "abort" }]));
    const first = sendInput("First question", { chatId, visibility: "PUBLIC" });
    const one = await subscribeWithFetch(gateway.url, first, { token });
    expect(one.events.at(-1)!.__typename).toBe("StreamAborted");
    const req1 = fake.requests.at(-1)!;

    // Turn 2: a text and a file part, an explicit model.
    fake.handle(respond(textTurn("Second answer")));
    const messageId = randomUUID();
    const second = {
      input: {
        chatId,
        model: "chat-model-reasoning",
        message: {
          id: messageId,
          parts: [
            { text: "Second question" },
            { file: { mediaType: "image/png", url: "https://example.com/cat.png", filename: "cat.png" } },
          ],
        },
      },
    };
    const two = await subscribeWithClient(gateway.url, second, { token });
    expect(two.error).toBeUndefined();
    expect(two.events.at(-1)!.__typename).toBe("StreamFinished");
    const req2 = fake.requests.at(-1)!;

    for (const req of [req1, req2]) {
      expect(req.method).toBe("POST");
      expect(req.path).toBe("/api/chat/stream");
      expect(req.headers["content-type"]).toContain("application/json");
      expect(req.closedEarly).toBe(false);
      const jwt = /^Bearer (\S+)$/.exec(req.headers.authorization ?? "")?.[1];
      expect(jwt).toBeDefined();
      const claims = decodeJwt(jwt!);
      expect(claims).toMatchObject({ iss: "chat-gateway", aud: "chat-streamer", sub: user.id, chatId });
      expect(claims.exp! - claims.iat!).toBeLessThanOrEqual(60);
      expect(claims.exp! * 1000).toBeGreaterThan(Date.now());
      const verified = await jwtVerify(jwt!, new TextEncoder().encode(gateway.env.NEXTJS_INTERNAL_TOKEN), {
        issuer: "chat-gateway",
        audience: "chat-streamer",
        algorithms: ["HS256"],
      });
      expect(verified.payload.sub).toBe(user.id);
    }
    expect(gateway.env.NEXTJS_INTERNAL_TOKEN).toBe(INTERNAL_SECRET);

    expect(req1.body).toEqual({
      id: chatId,
      message: { id: first.input.message.id, role: "user", parts: [{ type: "text", text: "First question" }] },
      selectedChatModel: "chat-model",
      selectedVisibilityType: "public",
      existingMessages: [],
    });

    const partial = one.events.at(-1)!.partialMessage;
    expect(req2.body).toMatchObject({
      id: chatId,
      message: {
        id: messageId,
        role: "user",
        parts: [
          { type: "text", text: "Second question" },
          { type: "file", mediaType: "image/png", url: "https://example.com/cat.png", filename: "cat.png" },
        ],
      },
      selectedChatModel: "chat-model-reasoning",
      selectedVisibilityType: "public",
    });
    const existing = req2.body.existingMessages;
    expect(existing.map((m: any) => [m.id, m.role])).toEqual([
      [first.input.message.id, "user"],
      [partial.id, "assistant"],
    ]);
    expect(existing[0].parts).toEqual([{ type: "text", text: "First question" }]);
    expect(existing[1].parts).toContainEqual(expect.objectContaining({ type: "text", text: "First partial" }));
  });

  it("leaves the answer of a turn still running in the chat out of existingMessages", async () => {
    const token = await gateway.tokenFor(newUser());
    const chatId = randomUUID();
    fake.handle(respond([...turnHead(), ...textDeltas("t1", "Still thinking")], "hang"));
    let streaming = false;
    const first = subscribeWithFetch(gateway.url, sendInput("First", { chatId }), {
      token,
      onEvent: (event) => void (event.__typename === "TextDelta" && (streaming = true)),
    });
    await eventually(async () => streaming, 10_000);

    fake.handle(respond(textTurn("Second answer")));
    const second = await subscribeWithFetch(gateway.url, sendInput("Second", { chatId }), { token });
    expect(second.events.at(-1)!.__typename).toBe("StreamFinished");
    const existing = fake.requests.at(-1)!.body.existingMessages;
    expect(existing.map((m: any) => [m.role, m.parts])).toEqual([["user", [{ type: "text", text: "First" }]]]);

    await gateway.gql(STOP_STREAM, { chatId }, token);
    expect((await first).events.at(-1)!.__typename).toBe("StreamAborted");
  });

  it("a private chat is sent as selectedVisibilityType private", async () => {
    fake.handle(respond(textTurn("Hi")));
    const token = await gateway.tokenFor(newUser());
    await subscribeWithFetch(gateway.url, sendInput("Hi", { visibility: "PRIVATE" }), { token });
    expect(fake.requests.at(-1)!.body.selectedVisibilityType).toBe("private");
    await subscribeWithFetch(gateway.url, sendInput("Hi"), { token });
    expect(fake.requests.at(-1)!.body.selectedVisibilityType).toBe("private");
  });
});

describe("usage", () => {
  it("flat usage metadata on finish becomes StreamFinished.usage and Chat.lastContext", async () => {
    const { terminal, chat } = await turn(respond(textTurn("Counted.")));
    expect(terminal.__typename).toBe("StreamFinished");
    expect(terminal.usage).toEqual({ ...USAGE_METADATA.usage, model: "fake-model" });
    expect(chat.lastContext).toEqual(terminal.usage);
  });

  it("a data-usage chunk after finish (as the Chat SDK writes it) is what StreamFinished and the chat hold", async () => {
    const late = {
      type: "data-usage",
      data: { inputTokens: 30, outputTokens: 9, totalTokens: 39, modelId: "late-model" },
    };
    // The pause lets the answer be stored at finish first; the late chunk must replace it.
    const { terminal, chat, messages } = await turn(respond([...textTurn("Counted late."), { delayMs: 100 }, late]));
    expect(terminal.__typename).toBe("StreamFinished");
    expect(terminal.usage).toMatchObject({ inputTokens: 30, outputTokens: 9, totalTokens: 39, model: "late-model" });
    expect(chat.lastContext).toEqual(terminal.usage);
    expect(messages[1]).toEqual(terminal.message);
  });

  it("a stop after finish, before the streamer's body ends, replaces the answer stored at finish with ABORTED", async () => {
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Stop me late");
    fake.handle(respond(textTurn("All said."), "hang"));
    let finished!: () => void;
    const reachedFinish = new Promise<void>((resolve) => (finished = resolve));
    const done = subscribeWithFetch(gateway.url, variables, {
      token,
      onEvent: (event) => event.__typename === "StepFinished" && finished(),
    });
    await reachedFinish;
    // Time for the answer to be stored at finish, which the stop must replace.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expectOk(await gateway.gql(STOP_STREAM, { chatId: variables.input.chatId }, token));
    const { events } = await done;
    const aborted = events.at(-1)!;
    expect(aborted).toMatchObject({ __typename: "StreamAborted", partialMessage: { status: "ABORTED" } });
    const { messages } = await storedMessages(gateway, variables.input.chatId, token);
    expect(messages.map((m) => [m.role, m.status])).toEqual([
      ["USER", "COMPLETE"],
      ["ASSISTANT", "ABORTED"],
    ]);
    expect(messages[1]).toEqual(aborted.partialMessage);
  });

  it("an AI SDK 5/6 style stream (no messageId, no usage): usage null, never zeros", async () => {
    const user = newUser();
    const token = await gateway.tokenFor(user);
    const chatId = randomUUID();
    // A first turn with usage, so lastContext has figures to lose.
    fake.handle(respond(textTurn("With usage.")));
    const first = await subscribeWithFetch(gateway.url, sendInput("one", { chatId }), { token });
    expect(first.events.at(-1)!.usage).not.toBeNull();

    fake.handle(
      respond([
        { type: "start" },
        { type: "start-step" },
        { type: "text-start", id: "0" },
        ...textDeltas("0", "Old style answer."),
        { type: "text-end", id: "0" },
        { type: "finish-step" },
        { type: "finish" },
      ]),
    );
    const second = await subscribeWithClient(gateway.url, sendInput("two", { chatId }), { token });
    expect(second.error).toBeUndefined();
    const finished = second.events.at(-1)!;
    // Its finish chunk names no reason: the gateway does not make one up.
    expect(finished).toMatchObject({ __typename: "StreamFinished", finishReason: "unknown", usage: null });
    // The gateway's id, not the empty one the stream would give.
    expect(finished.message.id).toBe(second.events[0].assistantMessageId);
    expect(finished.message.parts).toContainEqual({ __typename: "TextPart", text: "Old style answer." });
    const { chat, messages } = await storedMessages(gateway, chatId, token);
    expect(chat.lastContext).toBeNull();
    expect(messages.at(-1)).toEqual(finished.message);
  });

  it("AI SDK 6/7 usage details are read too", async () => {
    const usage = {
      inputTokens: 30,
      outputTokens: 10,
      totalTokens: 40,
      inputTokenDetails: { cacheReadTokens: 5 },
      outputTokenDetails: { reasoningTokens: 4 },
    };
    const { terminal, chat } = await turn(respond(textTurn("Detailed.", { usage })));
    expect(terminal.usage).toEqual({
      inputTokens: 30,
      outputTokens: 10,
      totalTokens: 40,
      reasoningTokens: 4,
      cachedInputTokens: 5,
      model: "chat-model",
    });
    expect(chat.lastContext).toEqual(terminal.usage);
  });
});

describe("a database failure while storing the answer", () => {
  it("StreamFailed bad_request:database at once; the answer is kept and stored FAILED once the database takes it", async () => {
    const prisma = gateway.database.db.prisma;
    const token = await gateway.tokenFor(newUser());
    const chatId = randomUUID();
    fake.handle(respond(textTurn("A stored answer.")));
    const first = await subscribeWithFetch(gateway.url, sendInput("first", { chatId }), { token });
    expect(first.events.at(-1)!.__typename).toBe("StreamFinished");
    const before = await storedMessages(gateway, chatId, token);
    expect(before.chat.lastContext).not.toBeNull();

    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    fake.handle(async (call) => {
      call.startStream();
      for (const chunk of [...turnHead(), ...textDeltas("t1", "Never stored")]) call.send(chunk);
      await gate;
      for (const chunk of turnTail({ ...USAGE_METADATA, usage: { inputTokens: 999 } })) call.send(chunk);
      call.done();
    });
    let broken = false;
    let started!: StreamEvent;
    let altered: Promise<unknown> = Promise.resolve();
    try {
      const result = await subscribeWithFetch(gateway.url, sendInput("second", { chatId }), {
        token,
        onEvent: (event) => {
          if (event.__typename !== "TextDelta" || broken) return;
          broken = true;
          // NOT VALID: earlier assistant rows stay; new ones are refused.
          altered = prisma.$executeRawUnsafe(
            `ALTER TABLE "Message" ADD CONSTRAINT no_assistant CHECK (role <> 'assistant') NOT VALID`,
          );
          altered.finally(release).catch(() => {});
        },
      });
      expect(broken).toBe(true);
      await altered;
      expectWellFormed(result.events);
      const terminal = result.events.at(-1)!;
      expect(terminal).toMatchObject({
        __typename: "StreamFailed",
        code: "bad_request:database",
        partialMessage: null,
      });
      expectNoInternals(terminal);
      started = result.events[0];
      // Nothing half-written: the answer is still the STREAMING row begin_turn stored, its turn active.
      const row = await prisma.message.findUniqueOrThrow({ where: { id: started.assistantMessageId } });
      expect(row.status).toBe("streaming");
      const stream = await prisma.stream.findUniqueOrThrow({ where: { id: started.streamId } });
      expect(stream.status).toBe("active");
    } finally {
      await prisma.$executeRawUnsafe(`ALTER TABLE "Message" DROP CONSTRAINT IF EXISTS no_assistant`);
    }
    // The database takes it again: the owner stores the answer it kept, every part the client saw.
    await eventually(async () => {
      const stream = await prisma.stream.findUniqueOrThrow({ where: { id: started.streamId } });
      return stream.status === "failed";
    }, 15_000);
    const answer = await prisma.message.findUniqueOrThrow({ where: { id: started.assistantMessageId } });
    expect(answer.status).toBe("failed");
    expect(answer.parts).toContainEqual(expect.objectContaining({ type: "text", text: "Never stored" }));
    const after = await storedMessages(gateway, chatId, token);
    expect(after.messages.map((m) => m.role)).toEqual(["USER", "ASSISTANT", "USER", "ASSISTANT"]);
    // The turn got its usage before the store failed: it is the chat's last context now.
    expect(after.chat.lastContext).toMatchObject({ inputTokens: 999 });
  });
});

describe("a database failure while storing the user turn", () => {
  it("refuses the turn with bad_request:database before any event, closes the streamer call and stores nothing", async () => {
    const prisma = gateway.database.db.prisma;
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("never stored");
    const before = fake.requests.length;
    fake.handle(respond(slowTextTurn("Never shown", 50, 1)));
    // The Stream row is the last write of the turn's first statement; its
    // failure must undo the chat and the user message too.
    await prisma.$executeRawUnsafe(`ALTER TABLE "Stream" ADD CONSTRAINT no_streams CHECK (false) NOT VALID`);
    try {
      const result = await subscribeWithFetch(gateway.url, variables, { token });
      expect(result.events).toEqual([]);
      const errors = result.results.flatMap((r) => r.errors ?? []);
      expect(errors[0]?.extensions?.code).toBe("bad_request:database");
      expect(result.completed).toBe(true);
      expectNoInternals(errors);
    } finally {
      await prisma.$executeRawUnsafe(`ALTER TABLE "Stream" DROP CONSTRAINT IF EXISTS no_streams`);
    }
    expect(await prisma.message.count({ where: { chatId: variables.input.chatId } })).toBe(0);
    expect(await prisma.chat.findUnique({ where: { id: variables.input.chatId } })).toBeNull();
    expect(fake.requests.length).toBe(before);
  });
});
