// Direct mode (STREAM_MODE=direct): the same model code in-process, no HTTP hop.
// The events and the stored turn match proxy mode's; stopping works the same.
// Runs on PGlite and PostgreSQL.
import { describe, expect, it } from "vitest";
import { expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { type TestGateway, useTestGateway } from "./support/gateway.ts";
import {
  CHAT_WITH_MESSAGES,
  sendInput,
  STOP_STREAM,
  subscribeWithClient,
  subscribeWithFetch,
  TERMINAL_TYPES,
  typenames,
  type StreamEvent,
} from "./support/sse.ts";

failOnUnhandledRejections();

const direct = useTestGateway({ STREAM_MODE: "direct" }, { resetEachTest: false });
const proxy = useTestGateway({}, { resetEachTest: false });

function expectWellFormed(events: StreamEvent[]) {
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events[0].__typename).toBe("StreamStarted");
  expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
  expect(TERMINAL_TYPES).toContain(events.at(-1)!.__typename);
}

/** An event without the ids and times that differ between two runs. */
function comparable(event: StreamEvent): unknown {
  const { streamId, chatId, userMessageId, assistantMessageId, message, partialMessage, ...rest } = event;
  const strip = (m: any) => (m ? { role: m.role, status: m.status, parts: m.parts } : m);
  return {
    ...rest,
    ...(message ? { message: strip(message) } : {}),
    ...(partialMessage ? { partialMessage: strip(partialMessage) } : {}),
  };
}

async function runTurn(target: TestGateway, text: string, transport: "fetch" | "client") {
  const token = await target.tokenFor(newUser());
  const variables = sendInput(text);
  const events =
    transport === "fetch"
      ? (await subscribeWithFetch(target.url, variables, { token })).events
      : (await subscribeWithClient(target.url, variables, { token })).events;
  const { chat } = expectOk(await target.gql(CHAT_WITH_MESSAGES, { id: variables.input.chatId }, token));
  return { events, chat, stored: chat.messages.edges.map((edge: any) => edge.node) as any[] };
}

describe("direct mode", () => {
  for (const [name, text] of [
    ["the two-step tool turn", "What is the weather in Lisbon?"],
    ["a one-step [plain] turn", "[plain] Hello there"],
    ["a model [error]", "[plain] [error] fail please"],
  ] as const) {
    it(`${name}: the same events and stored turn as proxy mode`, async () => {
      const [inProcess, overHttp] = await Promise.all([runTurn(direct, text, "client"), runTurn(proxy, text, "fetch")]);
      expectWellFormed(inProcess.events);
      expect(typenames(inProcess.events)).toEqual(typenames(overHttp.events));
      expect(inProcess.events.map(comparable)).toEqual(overHttp.events.map(comparable));

      const terminal = inProcess.events.at(-1)!;
      const storedMessage = terminal.message ?? terminal.partialMessage;
      expect(storedMessage.id).toBe(inProcess.events[0].assistantMessageId);
      expect(inProcess.stored).toHaveLength(2);
      expect(inProcess.stored[1]).toEqual(storedMessage);
      expect(inProcess.stored.map((m) => ({ role: m.role, status: m.status, parts: m.parts }))).toEqual(
        overHttp.stored.map((m) => ({ role: m.role, status: m.status, parts: m.parts })),
      );
      expect(inProcess.chat.lastContext).toEqual(overHttp.chat.lastContext);
      expect(inProcess.chat.title).toBe(overHttp.chat.title);
    });
  }

  it("the finished turn carries the usage into lastContext", async () => {
    const { events, chat } = await runTurn(direct, "What is the weather in Lima?", "fetch");
    const finished = events.at(-1)!;
    expect(finished).toMatchObject({ __typename: "StreamFinished", finishReason: "stop" });
    expect(finished.usage).toMatchObject({ inputTokens: 100, outputTokens: 44, totalTokens: 144 });
    expect(chat.lastContext).toEqual(finished.usage);
  });

  it("stopStream stops an in-process [slow] turn; the partial is stored ABORTED", async () => {
    const token = await direct.tokenFor(newUser());
    const variables = sendInput("[plain] [slow] go on and on");
    let stopped: Promise<unknown> | null = null;
    const result = await subscribeWithFetch(direct.url, variables, {
      token,
      onEvent: (_event, all) => {
        if (stopped === null && all.filter((e) => e.__typename === "TextDelta").length >= 3) {
          stopped = direct.gql(STOP_STREAM, { chatId: variables.input.chatId }, token);
        }
      },
    });
    expect(expectOk((await stopped) as any).stopStream).toBe(true);
    expectWellFormed(result.events);
    const aborted = result.events.at(-1)!;
    expect(aborted.__typename).toBe("StreamAborted");
    expect(aborted.partialMessage).toMatchObject({ status: "ABORTED", role: "ASSISTANT" });
    const { chat } = expectOk(await direct.gql(CHAT_WITH_MESSAGES, { id: variables.input.chatId }, token));
    expect(chat.messages.edges.at(-1).node).toEqual(aborted.partialMessage);
  });

  it("a client that goes away does not stop an in-process turn; stopStream does", async () => {
    const token = await direct.tokenFor(newUser());
    const variables = sendInput("[plain] [slow] keep going");
    const controller = new AbortController();
    const seen = await subscribeWithFetch(direct.url, variables, {
      token,
      signal: controller.signal,
      onEvent: (_event, all) => {
        if (all.filter((e) => e.__typename === "TextDelta").length >= 3) controller.abort();
      },
    });
    expect(seen.aborted).toBe(true);
    const prisma = direct.database.db.prisma;
    const running = await prisma.message.findUniqueOrThrow({ where: { id: seen.events[0].assistantMessageId } });
    expect(running.status).toBe("streaming");
    expect(await direct.app.services.turns.stop(variables.input.chatId, "Stopped by the test.")).toBe(true);
    const stored = await prisma.message.findUniqueOrThrow({ where: { id: seen.events[0].assistantMessageId } });
    expect(stored.status).toBe("aborted");
    expect(await direct.app.services.turns.stop(variables.input.chatId, "again")).toBe(false);
  });
});
