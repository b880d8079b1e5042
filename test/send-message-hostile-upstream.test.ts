// A streamer that misbehaves on purpose: characters PostgreSQL refuses in its
// chunks, stacks, SQL, paths and keys in its errors, an error body that never
// ends. The answer is still stored, nothing of the streamer's internals reaches
// the client (the log has them, with the stream id), and every turn ends with
// its terminal event. Runs on PGlite and PostgreSQL.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { log } from "../src/log.ts";
import { UNFINISHED_REASON } from "../src/turn/failure.ts";
import { expectNoInternals, expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, textDeltas, turnHead, turnTail, USAGE_METADATA, type FakeHandler } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import { CHAT_WITH_MESSAGES, sendInput, subscribeWithFetch, TERMINAL_TYPES, type StreamEvent } from "./support/sse.ts";

failOnUnhandledRejections();

const NUL = "\u0000";
const HIGH = "\ud800";
const LOW = "\udc00";
const FFFD = "\ufffd";
const UNAVAILABLE = "The model's service is unavailable. Try again shortly.";

const { fake, gateway } = useStreamerGateway({
  UPSTREAM_IDLE_TIMEOUT_MS: "300",
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: "500",
});

let logs: ReturnType<typeof vi.spyOn>[] = [];
beforeEach(() => {
  logs = [vi.spyOn(log, "warn"), vi.spyOn(log, "error")];
});
afterEach(() => vi.restoreAllMocks());

/** Everything logged about one stream, as text. */
function loggedFor(streamId: string): string {
  const calls = logs.flatMap((spy) => spy.mock.calls as [string, Record<string, unknown>?][]);
  return JSON.stringify(calls.filter(([, fields]) => fields?.streamId === streamId));
}

/** One turn, bounded in time: a turn that never ends fails the test instead of hanging it. */
async function turn(handler: FakeHandler) {
  const target = gateway;
  fake.handle(handler);
  const token = await target.tokenFor(newUser());
  const variables = sendInput("Hello?");
  const before = fake.requests.length;
  const result = await subscribeWithFetch(target.url, variables, { token, signal: AbortSignal.timeout(10_000) });
  expect(result.aborted, "the turn never ended").toBe(false);
  expect(result.completed).toBe(true);
  const events = result.events;
  expect(events[0].__typename).toBe("StreamStarted");
  expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
  expect(TERMINAL_TYPES).toContain(events.at(-1)!.__typename);
  const { chat } = expectOk(await target.gql(CHAT_WITH_MESSAGES, { id: variables.input.chatId }, token));
  const messages = chat.messages.edges.map((edge: any) => edge.node) as any[];
  expect(messages[0]).toMatchObject({ role: "USER", status: "COMPLETE" });
  return {
    events,
    terminal: events.at(-1)!,
    chat,
    messages,
    request: fake.requests.length > before ? fake.requests.at(-1)! : null,
    logged: () => loggedFor(events[0].streamId),
  };
}

const joined = (events: StreamEvent[], type: string) =>
  events
    .filter((e) => e.__typename === type)
    .map((e) => e.delta)
    .join("");

/** No U+0000 or lone surrogate anywhere (JSON.stringify escapes exactly those, as \u0000 and \udXXX). */
function expectStorable(value: unknown) {
  expect(JSON.stringify(value)).not.toMatch(/\\u0000|\\ud[89a-f]/i);
}

describe("characters PostgreSQL refuses", () => {
  it("U+0000 and lone surrogates in every kind of chunk: StreamFinished, the answer stored with U+FFFD", async () => {
    const { terminal, events, messages, chat } = await turn(
      respond([
        { type: "start", messageId: `m${NUL}` },
        { type: "start-step" },
        { type: "reasoning-start", id: "r1" },
        { type: "reasoning-delta", id: "r1", delta: `Think${LOW}ing` },
        { type: "reasoning-end", id: "r1" },
        { type: "tool-input-start", toolCallId: "c1", toolName: "search" },
        { type: "tool-input-delta", toolCallId: "c1", inputTextDelta: `{"k${NUL}":"v${HIGH}"}` },
        { type: "tool-input-available", toolCallId: "c1", toolName: "search", input: { [`k${NUL}`]: `v${HIGH}` } },
        { type: "tool-output-available", toolCallId: "c1", output: { hits: [`x${LOW}y`] } },
        { type: "source-url", sourceId: "s1", url: "https://example.com/a", title: `Ti${NUL}tle` },
        { type: "data-weather", id: "w1", data: { city: `Pa${HIGH}ris` } },
        { type: "finish-step" },
        { type: "start-step" },
        { type: "text-start", id: "t1" },
        ...textDeltas("t1", `${"Fine text. ".repeat(20)}Hello${NUL} wor${HIGH}ld ${LOW}!`),
        ...turnTail({ ...USAGE_METADATA, model: `fake${NUL}model` }),
      ]),
    );
    expect(terminal).toMatchObject({ __typename: "StreamFinished", finishReason: "stop" });
    const text = `${"Fine text. ".repeat(20)}Hello${FFFD} wor${FFFD}ld ${FFFD}!`;
    expect(terminal.message.parts).toEqual([
      { __typename: "StepStartPart", stepStart: true },
      { __typename: "ReasoningPart", text: `Think${FFFD}ing` },
      {
        __typename: "ToolPart",
        toolCallId: "c1",
        toolName: "search",
        state: "output-available",
        input: { [`k${FFFD}`]: `v${FFFD}` },
        output: { hits: [`x${FFFD}y`] },
        errorText: null,
      },
      { __typename: "SourceUrlPart", sourceId: "s1", url: "https://example.com/a", title: `Ti${FFFD}tle` },
      { __typename: "DataPart", name: "weather", id: "w1", data: { city: `Pa${FFFD}ris` } },
      { __typename: "StepStartPart", stepStart: true },
      { __typename: "TextPart", text },
    ]);
    expect(messages[1]).toEqual(terminal.message);
    expect(terminal.usage.model).toBe(`fake${FFFD}model`);
    expect(chat.lastContext).toEqual(terminal.usage);
    // The live events carry the same text as the stored answer.
    expect(joined(events, "TextDelta")).toBe(text);
    expect(joined(events, "ReasoningDelta")).toBe(`Think${FFFD}ing`);
    expect(joined(events, "ToolInputDelta")).toBe(`{"k${FFFD}":"v${FFFD}"}`);
    const by = (type: string) => events.find((e) => e.__typename === type)!;
    expect(by("ToolInputAvailable").input).toEqual({ [`k${FFFD}`]: `v${FFFD}` });
    expect(by("ToolOutputAvailable").output).toEqual({ hits: [`x${FFFD}y`] });
    expect(by("SourceUrl").title).toBe(`Ti${FFFD}tle`);
    expect(by("DataDelta").data).toEqual({ city: `Pa${FFFD}ris` });
    expectStorable(events);
  });

  it("a surrogate pair cut across two deltas is joined; a half its part never completes becomes U+FFFD", async () => {
    const { terminal, events, messages } = await turn(
      respond([
        ...turnHead(),
        { type: "text-delta", id: "t1", delta: "Smile \ud83d" },
        { type: "text-delta", id: "t1", delta: "\ude00 and " },
        { type: "text-delta", id: "t1", delta: "\ud83d" },
        { type: "text-delta", id: "t1", delta: "\ude03 done \ud83d" },
        ...turnTail(),
      ]),
    );
    expect(terminal.__typename).toBe("StreamFinished");
    const text = `Smile \u{1f600} and \u{1f603} done ${FFFD}`;
    expect(joined(events, "TextDelta")).toBe(text);
    expect(terminal.message.parts).toContainEqual({ __typename: "TextPart", text });
    expect(messages[1]).toEqual(terminal.message);
    expectStorable(events);
  });
});

describe("the streamer's internals never reach the client", () => {
  const UNREADABLE = "The model's service sent an answer that could not be read. Try again.";
  const SECRET = "sk-live-0123456789abcdef";
  const STACK = [
    `error: relation "users" does not exist (password=${SECRET})`,
    "    at Query.run (/srv/streamer/node_modules/pg/lib/client.ts:45:11)",
    "    at handler (/srv/streamer/app/api/chat/stream/route.ts:88:3)",
    "SELECT id, password FROM users WHERE email = 'a@b.c'",
  ].join("\n");

  function expectHidden(terminal: StreamEvent, ...secrets: string[]) {
    expectNoInternals(terminal);
    for (const secret of secrets) expect(JSON.stringify(terminal)).not.toContain(secret);
  }

  it("an HTTP 500 whose text body is a stack with SQL, paths and a key", async () => {
    const { terminal, logged } = await turn((call) => {
      call.res.writeHead(500, { "content-type": "text/plain" });
      call.res.end(STACK);
    });
    expect(terminal).toMatchObject({ code: "offline:chat", reason: UNAVAILABLE, partialMessage: null });
    expectHidden(terminal, SECRET, "/srv/streamer", "500");
    expect(logged()).toContain("HTTP 500");
    expect(logged()).toContain(SECRET);
  });

  it("an HTTP 500 whose Chat SDK error body carries the stack as its cause", async () => {
    const { terminal, logged } = await turn((call) => {
      call.res.writeHead(500, { "content-type": "application/json" });
      call.res.end(JSON.stringify({ code: "offline:chat", message: `db at 10.0.0.7:5432 down`, cause: STACK }));
    });
    expect(terminal).toMatchObject({ code: "offline:chat", reason: UNAVAILABLE });
    expectHidden(terminal, SECRET, "10.0.0.7");
    expect(logged()).toContain("10.0.0.7:5432");
  });

  it("an error chunk whose errorText holds a key and an internal address", async () => {
    const errorText = `OpenAI rejected key ${SECRET} at https://llm-proxy.internal:8443/v1/chat`;
    const { terminal, events, logged } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "So far"), { type: "error", errorText }, ...turnTail(null, "error")]),
    );
    expect(terminal).toMatchObject({
      code: "offline:chat",
      reason: "The model ran into an error while answering. Try again.",
      partialMessage: { status: "FAILED" },
    });
    expect(joined(events, "TextDelta")).toBe("So far");
    expectHidden(terminal, SECRET, "llm-proxy.internal");
    expect(logged()).toContain(errorText);
  });

  it("an abort chunk whose reason names an internal host: StreamAborted with a fixed sentence", async () => {
    const reason = `quota exceeded for key ${SECRET} on llm-proxy.internal`;
    const { terminal, logged } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "So far"), { type: "abort", reason }]),
    );
    expect(terminal).toMatchObject({
      __typename: "StreamAborted",
      reason: "The model's service stopped the answer.",
      partialMessage: { status: "ABORTED" },
    });
    expectHidden(terminal, SECRET, "llm-proxy.internal");
    expect(logged()).toContain(reason);
  });

  it("a source linking to javascript: or data: is dropped, live and stored; an https one is kept", async () => {
    const source = (sourceId: string, url: string) => ({ type: "source-url", sourceId, url, title: "<b>t</b>" });
    const { terminal, events, messages } = await turn(
      respond([
        ...turnHead(),
        source("s1", "javascript:alert(document.cookie)"),
        source("s2", "https://example.com/a"),
        source("s3", "data:text/html,<script>alert(1)</script>"),
        ...textDeltas("t1", "Answer"),
        ...turnTail(),
      ]),
    );
    expect(terminal.__typename).toBe("StreamFinished");
    expect(events.filter((e) => e.__typename === "SourceUrl").map((e) => e.url)).toEqual(["https://example.com/a"]);
    const sources = messages[1].parts.filter((part: any) => part.__typename === "SourceUrlPart");
    expect(sources.map((part: any) => part.url)).toEqual(["https://example.com/a"]);
    expect(terminal.message.parts.filter((part: any) => part.__typename === "SourceUrlPart")).toEqual(sources);
  });

  it("a file or reasoning file whose URL is not https, http or data is dropped, live and stored; the others are kept", async () => {
    const file = (type: string, url: string) => ({ type, mediaType: "image/png", url });
    const kept = [
      { __typename: "FilePart", mediaType: "image/png", url: "https://example.com/cat.png", filename: null },
      { __typename: "ReasoningFilePart", mediaType: "image/png", url: "data:image/png;base64,iVBORw0KGgo=" },
    ];
    const { terminal, messages } = await turn(
      respond([
        ...turnHead(),
        file("file", "javascript:alert(document.domain)"),
        file("file", kept[0].url),
        file("reasoning-file", "file:///etc/passwd"),
        file("file", "blob:https://example.com/1"),
        file("reasoning-file", kept[1].url),
        ...textDeltas("t1", "Answer"),
        ...turnTail(),
      ]),
    );
    expect(terminal.__typename).toBe("StreamFinished");
    const files = (parts: any[]) => parts.filter((part) => "url" in part);
    expect(files(terminal.message.parts)).toEqual(kept);
    expect(files(messages[1].parts)).toEqual(kept);
  });

  it('a finish the AI SDK reports as "interrupted" (the provider stream ended without its completion signal) is a failure, stored FAILED', async () => {
    const { terminal, messages } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "Part"), ...turnTail(null, "interrupted")]),
    );
    expect(terminal).toMatchObject({
      __typename: "StreamFailed",
      code: "offline:chat",
      reason: UNFINISHED_REASON,
      partialMessage: { status: "FAILED" },
    });
    expect(messages[1]).toMatchObject({
      status: "FAILED",
      parts: expect.arrayContaining([{ __typename: "TextPart", text: "Part" }]),
    });
  });

  it("a chunk that would take the turn past its byte bound is neither sent nor stored, however large", async () => {
    // 1.5 MB: past TURN_MAX_BYTES (1 MB) once whole; 3 MB: the body is cut before it is all read (2 MB).
    for (const size of [1_500_000, 3_000_000]) {
      const huge = { type: "text-delta", id: "t1", delta: "x".repeat(size) };
      const { terminal, events, messages, logged } = await turn(
        respond([...turnHead(), ...textDeltas("t1", "Before"), huge, ...turnTail()]),
      );
      expect(terminal).toMatchObject({
        __typename: "StreamFailed",
        code: "offline:chat",
        reason: "The answer grew past the gateway's bound for one turn; what arrived is kept.",
      });
      expect(joined(events, "TextDelta")).toBe("Before");
      expect(messages[1]).toMatchObject({
        status: "FAILED",
        parts: expect.arrayContaining([{ __typename: "TextPart", text: "Before" }]),
      });
      if (size > 2_000_000) expect(logged()).toContain("too-large");
    }
  });

  it("the stream ends at [DONE], or a moment after finish: a streamer that leaves its connection open, or sends more, changes nothing", async () => {
    const answer = [...turnHead(), ...textDeltas("t1", "Complete."), ...turnTail(), "[DONE]"];
    for (const script of [
      respond(answer, "hang"),
      // No [DONE] at all: the message's finish chunk, then silence.
      respond(answer.slice(0, -1), "hang"),
      respond([...answer, { type: "text-delta", id: "t1", delta: "late" }], "hang"),
    ]) {
      const { terminal, events, messages } = await turn(script);
      expect(terminal).toMatchObject({ __typename: "StreamFinished", message: { status: "COMPLETE" } });
      expect(joined(events, "TextDelta")).toBe("Complete.");
      expect(messages[1].parts).toContainEqual({ __typename: "TextPart", text: "Complete." });
    }
  });

  // (A refused connection gets the same sentence: send-message-upstream.test.ts.)
  it("a streamer that hangs up before answering: its address stays in the log", async () => {
    const { terminal, logged } = await turn((call) => call.destroy());
    const { host } = new URL(fake.url);
    expect(terminal).toMatchObject({ code: "offline:chat", reason: UNAVAILABLE, partialMessage: null });
    expectHidden(terminal, host, "127.0.0.1");
    expect(logged()).toContain(`streamer at http://${host} unreachable`);
  });

  it("invalid JSON lines", async () => {
    const line = `{"type":"text-delta","id":"t1","delta":"${SECRET}`;
    const { terminal, events, logged } = await turn(
      respond([...turnHead(), ...textDeltas("t1", "Before"), line, ...turnTail()]),
    );
    expect(terminal).toMatchObject({ code: "offline:chat", reason: UNREADABLE, partialMessage: { status: "FAILED" } });
    expect(joined(events, "TextDelta")).toBe("Before");
    expectHidden(terminal, SECRET);
    expect(logged()).toContain("malformed chunk");
    expect(logged()).toContain(SECRET);
  });
});

describe("an error body that does not end", () => {
  it("an HTTP 500 whose body never ends: StreamFailed within the idle timeout, the streamer hung up on", async () => {
    const { terminal, request, messages, logged } = await turn((call) => {
      call.res.writeHead(500, { "content-type": "text/plain" });
      call.res.write("Internal error, details follow");
    });
    expect(terminal).toMatchObject({ code: "offline:chat", reason: UNAVAILABLE, partialMessage: null });
    expect(messages).toHaveLength(1);
    expect(logged()).toContain("Internal error, details follow");
    await vi.waitFor(() => expect(request!.closedEarly).toBe(true));
  });

  it("an endless HTTP 502 body: at most 2 KB of it is read, then the streamer is hung up on", async () => {
    let written = 0;
    const { terminal, request, logged } = await turn(async (call) => {
      call.res.writeHead(502, { "content-type": "text/plain" });
      while (!call.res.destroyed && written < 50_000_000) {
        written += 1024;
        if (!call.res.write("x".repeat(1024)))
          await Promise.race([new Promise((r) => call.res.once("drain", r)), call.closed]);
      }
    });
    expect(terminal).toMatchObject({ code: "offline:chat", reason: UNAVAILABLE });
    await vi.waitFor(() => expect(request!.closedEarly).toBe(true));
    expect(written).toBeLessThan(50_000_000);
    expect(logged()).toContain("HTTP 502");
  });
});
