// Stopping a turn: stopStream from another connection of the owner aborts the
// upstream request and stores the partial turn as ABORTED; a client that goes
// away does not stop it (the turn runs on and is stored). Runs on PGlite and PostgreSQL.
import { createClient } from "graphql-sse";
import { describe, expect, it } from "vitest";
import { expectError, expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import {
  respond,
  textDeltas,
  turnHead,
  turnTail,
  type RecordedRequest,
  slowTextTurn,
} from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import {
  CHAT_WITH_MESSAGES,
  eventually,
  SEND_MESSAGE,
  sendInput,
  STOP_STREAM,
  subscribeWithFetch,
  TERMINAL_TYPES,
  type SseSubscription,
  type StreamEvent,
  streamedText,
  textDeltaCount,
} from "./support/sse.ts";

failOnUnhandledRejections();

// About 6 s of answer, a delta every 30 ms: always stopped long before the end.
const SLOW_TEXT = "A long answer that streams slowly. ".repeat(30);
const slowAnswer = respond(slowTextTurn(SLOW_TEXT, 30));

const { fake, gateway } = useStreamerGateway({}, slowAnswer);

const storedText = (parts: unknown) =>
  (parts as { type: string; text?: string }[])
    .filter((p) => p.type === "text")
    .map((p) => p.text)
    .join("");

/** Starts a slow turn over fetch and resolves once `deltas` text deltas arrived. */
function startSlowTurn(token: string, options: { signal?: AbortSignal; deltas?: number } = {}) {
  const variables = sendInput("Tell me a long story.");
  let onDeltas!: () => void;
  const reachedDeltas = new Promise<void>((resolve) => (onDeltas = resolve));
  const requestsBefore = fake.requests.length;
  const done = subscribeWithFetch(gateway.url, variables, {
    token,
    signal: options.signal,
    onEvent: (_event, all) => {
      if (textDeltaCount(all) === (options.deltas ?? 3)) onDeltas();
    },
  });
  const upstream = async (): Promise<RecordedRequest> =>
    eventually(async () => fake.requests.length > requestsBefore && fake.requests[requestsBefore]);
  return { variables, reachedDeltas: Promise.race([reachedDeltas, done.then(() => {})]), done, upstream };
}

function expectAbortedStream(result: SseSubscription) {
  const { events } = result;
  expect(result.completed).toBe(true);
  expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
  expect(events[0].__typename).toBe("StreamStarted");
  expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
  expect(events.at(-1)!.__typename).toBe("StreamAborted");
}

describe("stopStream", () => {
  it("from another connection of the owner: StreamAborted, upstream closed, partial stored ABORTED", async () => {
    const user = newUser();
    const token = await gateway.tokenFor(user);
    const turn = startSlowTurn(token);
    await turn.reachedDeltas;

    const stoppedAt = Date.now();
    const stop = await gateway.gql(STOP_STREAM, { chatId: turn.variables.input.chatId }, token);
    expect(expectOk(stop).stopStream).toBe(true);

    const result = await turn.done;
    expect(Date.now() - stoppedAt).toBeLessThan(2000);
    expectAbortedStream(result);
    const aborted = result.events.at(-1)!;
    expect(aborted.reason).toEqual(expect.any(String));
    expect(aborted.partialMessage).toMatchObject({
      id: result.events[0].assistantMessageId,
      role: "ASSISTANT",
      status: "ABORTED",
    });
    const partialText = aborted.partialMessage.parts
      .filter((p: any) => p.__typename === "TextPart")
      .map((p: any) => p.text)
      .join("");
    expect(partialText).toBe(streamedText(result.events));
    expect(partialText.length).toBeGreaterThan(0);
    expect(partialText.length).toBeLessThan(SLOW_TEXT.length);

    const request = await turn.upstream();
    await eventually(async () => request.closedAt !== null, 2000);
    expect(request.closedEarly).toBe(true);

    const { chat } = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: turn.variables.input.chatId }, token));
    const stored = chat.messages.edges.map((edge: any) => edge.node);
    expect(stored.map((m: any) => [m.role, m.status])).toEqual([
      ["USER", "COMPLETE"],
      ["ASSISTANT", "ABORTED"],
    ]);
    expect(stored[1]).toEqual(aborted.partialMessage);
    const stream = await gateway.database.db.prisma.stream.findUnique({ where: { id: result.events[0].streamId } });
    expect(stream?.status).toBe("aborted");

    // Nothing runs any more.
    expect(expectOk(await gateway.gql(STOP_STREAM, { chatId: turn.variables.input.chatId }, token)).stopStream).toBe(
      false,
    );
  });

  it("with the chat's id in upper case: the same chat, stopped", async () => {
    const token = await gateway.tokenFor(newUser());
    const turn = startSlowTurn(token);
    await turn.reachedDeltas;
    const stop = await gateway.gql(STOP_STREAM, { chatId: turn.variables.input.chatId.toUpperCase() }, token);
    expect(expectOk(stop).stopStream).toBe(true);
    expectAbortedStream(await turn.done);
  });

  it("by another user: forbidden:chat, and the turn goes on", async () => {
    const owner = await gateway.tokenFor(newUser());
    const other = await gateway.tokenFor(newUser());
    const turn = startSlowTurn(owner);
    await turn.reachedDeltas;
    const chatId = turn.variables.input.chatId;

    expectError(await gateway.gql(STOP_STREAM, { chatId }, other), "forbidden:chat");
    expectError(await gateway.gql(STOP_STREAM, { chatId }, null), "unauthorized:chat");
    const request = await turn.upstream();
    expect(request.closedAt).toBeNull();

    expect(expectOk(await gateway.gql(STOP_STREAM, { chatId }, owner)).stopStream).toBe(true);
    expectAbortedStream(await turn.done);
  });

  it("while the streamer has not answered yet: StreamAborted with no partial, upstream closed", async () => {
    const token = await gateway.tokenFor(newUser());
    fake.handle(async (call) => {
      await call.closed;
    });
    try {
      const variables = sendInput("Anyone there?");
      const requestsBefore = fake.requests.length;
      const done = subscribeWithFetch(gateway.url, variables, { token });
      const request = await eventually(
        async () => fake.requests.length > requestsBefore && fake.requests[requestsBefore],
      );
      const stop = await gateway.gql(STOP_STREAM, { chatId: variables.input.chatId }, token);
      expect(expectOk(stop).stopStream).toBe(true);
      const result = await done;
      expectAbortedStream(result);
      expect(result.events.map((e) => e.__typename)).toEqual(["StreamStarted", "StreamAborted"]);
      expect(result.events[1].partialMessage).toBeNull();
      await eventually(async () => request.closedAt !== null, 2000);
      expect(request.closedEarly).toBe(true);
      const prisma = gateway.database.db.prisma;
      expect(await prisma.message.findUnique({ where: { id: result.events[0].assistantMessageId } })).toBeNull();
      expect((await prisma.stream.findUnique({ where: { id: result.events[0].streamId } }))?.status).toBe("aborted");
    } finally {
      fake.handle(slowAnswer);
    }
  });

  it("with nothing running: false", async () => {
    const token = await gateway.tokenFor(newUser());
    fake.handle(respond([...turnHead(), ...textDeltas("t1", "Quick."), ...turnTail()]));
    try {
      const variables = sendInput("Quick one");
      const { events } = await subscribeWithFetch(gateway.url, variables, { token });
      expect(events.at(-1)!.__typename).toBe("StreamFinished");
      const stop = await gateway.gql(STOP_STREAM, { chatId: variables.input.chatId }, token);
      expect(expectOk(stop).stopStream).toBe(false);
      // The finished turn is untouched.
      const row = await gateway.database.db.prisma.message.findUnique({ where: { id: events[0].assistantMessageId } });
      expect(row?.status).toBe("complete");
    } finally {
      fake.handle(slowAnswer);
    }
  });

  it("stops every turn running in the chat", async () => {
    const token = await gateway.tokenFor(newUser());
    const first = startSlowTurn(token);
    await first.reachedDeltas;
    const chatId = first.variables.input.chatId;
    const secondVariables = sendInput("Another, meanwhile.", { chatId });
    let secondStarted!: () => void;
    const secondRunning = new Promise<void>((resolve) => (secondStarted = resolve));
    const second = subscribeWithFetch(gateway.url, secondVariables, {
      token,
      onEvent: (event) => {
        if (event.__typename === "TextDelta") secondStarted();
      },
    });
    await Promise.race([secondRunning, second]);

    expect(expectOk(await gateway.gql(STOP_STREAM, { chatId }, token)).stopStream).toBe(true);
    const [one, two] = await Promise.all([first.done, second]);
    expectAbortedStream(one);
    expectAbortedStream(two);
  });
});

describe("the chat deleted mid-turn", () => {
  it("stops the turn: the stream ends with StreamAborted and nothing is left behind", async () => {
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Tell me a short story.");
    const chatId = variables.input.chatId;
    let deleted: Promise<unknown> | null = null;
    // About 0.6 s of answer: the chat is deleted after the third delta.
    fake.handle(respond(slowTextTurn("A short story in pieces.", 25, 1)));
    let result: SseSubscription;
    try {
      result = await subscribeWithFetch(gateway.url, variables, {
        token,
        onEvent: (_event, all) => {
          if (deleted === null && textDeltaCount(all) === 3) {
            deleted = gateway.gql(`mutation Delete($id: ID!) { deleteChat(id: $id) }`, { id: chatId }, token);
          }
        },
      });
    } finally {
      fake.handle(slowAnswer);
    }
    expect(expectOk((await deleted) as any).deleteChat).toBe(chatId);
    expect(result.completed).toBe(true);
    const { events } = result;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
    expect(TERMINAL_TYPES).toContain(events.at(-1)!.__typename);
    expect(events.at(-1)).toMatchObject({
      __typename: "StreamAborted",
      reason: "The chat was deleted.",
      partialMessage: null,
    });
    const request = fake.requests.at(-1)!;
    await eventually(async () => request.closedAt !== null, 2000);
    expect(request.closedEarly).toBe(true);
    const prisma = gateway.database.db.prisma;
    expect(await prisma.chat.findUnique({ where: { id: chatId } })).toBeNull();
    expect(await prisma.message.count({ where: { chatId } })).toBe(0);
    expect(await prisma.stream.count({ where: { chatId } })).toBe(0);
  });
});

describe("a client that goes away", () => {
  // About 1 s of answer: long enough to leave mid-way, short enough to wait for.
  const MEDIUM_TEXT = "An answer that outlives its reader. ".repeat(5);
  const mediumAnswer = respond(slowTextTurn(MEDIUM_TEXT, 20));

  /** Waits for the turn's answer to be stored and its upstream request to end. */
  async function storedAnswer(assistantMessageId: string, streamId: string) {
    const prisma = gateway.database.db.prisma;
    const stream = await eventually(async () => {
      const row = await prisma.stream.findUnique({ where: { id: streamId } });
      return row?.status !== "active" && row;
    }, 10_000);
    const message = await prisma.message.findUniqueOrThrow({ where: { id: assistantMessageId } });
    return { stream, message };
  }

  it("aborting the fetch leaves the turn running: upstream stays open, the answer is stored COMPLETE", async () => {
    fake.handle(mediumAnswer);
    try {
      const token = await gateway.tokenFor(newUser());
      const controller = new AbortController();
      const turn = startSlowTurn(token, { signal: controller.signal });
      await turn.reachedDeltas;
      controller.abort();
      const result = await turn.done;
      expect(result.aborted).toBe(true);

      const started = result.events[0];
      const { stream, message } = await storedAnswer(started.assistantMessageId, started.streamId);
      expect(stream.status).toBe("finished");
      expect(message.status).toBe("complete");
      expect(storedText(message.parts)).toBe(MEDIUM_TEXT);
      const request = await turn.upstream();
      expect(request.closedEarly).toBe(false);
    } finally {
      fake.handle(slowAnswer);
    }
  });

  it("leaving a graphql-sse client subscription does the same", async () => {
    fake.handle(mediumAnswer);
    try {
      const token = await gateway.tokenFor(newUser());
      const variables = sendInput("Tell me a long story.");
      const client = createClient({
        url: `${gateway.url}/graphql`,
        singleConnection: false,
        retryAttempts: 0,
        headers: { authorization: `Bearer ${token}` },
      });
      const events: StreamEvent[] = [];
      try {
        for await (const result of client.iterate({ query: SEND_MESSAGE, variables })) {
          const event = (result.data as { sendMessage?: StreamEvent } | null | undefined)?.sendMessage;
          if (event) events.push(event);
          if (textDeltaCount(events) === 3) break;
        }
      } finally {
        client.dispose();
      }
      const { stream, message } = await storedAnswer(events[0].assistantMessageId, events[0].streamId);
      expect(stream.status).toBe("finished");
      expect(message.status).toBe("complete");
      expect(storedText(message.parts)).toBe(MEDIUM_TEXT);
    } finally {
      fake.handle(slowAnswer);
    }
  });

  it("a client that leaves before StreamStarted: the turn runs and is stored all the same", async () => {
    fake.handle(mediumAnswer);
    const prisma = gateway.database.db.prisma;
    const user = newUser();
    const token = await gateway.tokenFor(user);
    expectOk(await gateway.gql(`{ me { id } }`, {}, token));
    const variables = sendInput("Tell me a long story.");

    // Hold the user's row, so the turn's first statement waits for its lock.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const isLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = prisma.$transaction(
      async (tx) => {
        await tx.$queryRaw`SELECT id FROM "User" WHERE id = ${user.id} FOR UPDATE`;
        locked();
        await gate;
      },
      { timeout: 10_000 },
    );
    try {
      await isLocked;
      const controller = new AbortController();
      const leaving = subscribeWithFetch(gateway.url, variables, { token, signal: controller.signal });
      await new Promise((resolve) => setTimeout(resolve, 300));
      controller.abort();
      const result = await leaving;
      expect(result.aborted).toBe(true);
      expect(result.events).toEqual([]);
      release();
      await holder;

      const stream = await eventually(async () => {
        const row = await prisma.stream.findFirst({ where: { chatId: variables.input.chatId } });
        return row !== null && row.status !== "active" && row;
      }, 10_000);
      expect(stream.status).toBe("finished");
      const answer = await prisma.message.findFirstOrThrow({
        where: { chatId: variables.input.chatId, role: "assistant" },
      });
      expect(answer.status).toBe("complete");
      expect(storedText(answer.parts)).toBe(MEDIUM_TEXT);
    } finally {
      release();
      fake.handle(slowAnswer);
    }
  });
});
