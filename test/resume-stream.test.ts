// resumeStream: a turn read again after a disconnect, late, from another
// instance, and who may read it. Runs on the memory log, and on Redis when
// REDIS_URL is set (the cross-instance tests only then).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { heldTextTurn, respond, slowTextTurn } from "./support/fake-streamer.ts";
import { startTestGateway, useStreamerGateway, type TestGateway } from "./support/gateway.ts";
import {
  eventually,
  RESUME_STREAM,
  sendInput,
  STOP_STREAM,
  subscribeWithFetch,
  TERMINAL_TYPES,
  streamedText,
  textDeltaCount,
} from "./support/sse.ts";

failOnUnhandledRejections();

const redisUrl = process.env.REDIS_URL;
const TEXT = "A resumable answer, one piece at a time. ".repeat(4);
// About 0.7 s of answer, a delta every 20 ms.
const answer = respond(slowTextTurn(TEXT, 20));
// Goes on until stopped.
const endless = respond(slowTextTurn(TEXT.repeat(50), 20));

const { fake, gateway } = useStreamerGateway(redisUrl ? { REDIS_URL: redisUrl } : {}, answer);

function resume(url: string, chatId: string, afterSeq: number | null, token: string | null, signal?: AbortSignal) {
  return subscribeWithFetch(url, { chatId, afterSeq }, { token, query: RESUME_STREAM, signal });
}

/** Sends a turn and leaves after `leaveAfter` text deltas; the events it saw. */
async function sendAndLeave(url: string, token: string, leaveAfter = 3, options: { visibility?: "PUBLIC" } = {}) {
  const variables = sendInput("Tell me something.", options);
  const controller = new AbortController();
  const seen = await subscribeWithFetch(url, variables, {
    token,
    signal: controller.signal,
    onEvent: (_event, all) => {
      if (textDeltaCount(all) === leaveAfter) controller.abort();
    },
  });
  expect(seen.aborted).toBe(true);
  return { chatId: variables.input.chatId, seen: seen.events };
}

describe("resumeStream", () => {
  it("after a disconnect, from the last seq: the rest of the turn, no gap and no duplicate, then complete", async () => {
    const token = await gateway.tokenFor(newUser());
    const { chatId, seen } = await sendAndLeave(gateway.url, token);
    const rest = await resume(gateway.url, chatId, seen.at(-1)!.seq, token);
    expect(rest.completed).toBe(true);
    const all = [...seen, ...rest.events];
    expect(all.map((e) => e.seq)).toEqual(all.map((_, i) => i));
    expect(all.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
    expect(all.at(-1)).toMatchObject({ __typename: "StreamFinished", message: { status: "COMPLETE" } });
    expect(streamedText(all)).toBe(TEXT);
  });

  it("from null, mid-turn: exactly the sender's stream, event for event", async () => {
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Tell me something.");
    let resumed: ReturnType<typeof resume> | null = null;
    const sent = await subscribeWithFetch(gateway.url, variables, {
      token,
      onEvent: (_event, all) => {
        if (textDeltaCount(all) === 2) resumed ??= resume(gateway.url, variables.input.chatId, null, token);
      },
    });
    const replayed = await resumed!;
    expect(replayed.completed).toBe(true);
    expect(replayed.events).toEqual(sent.events);
  });

  it("after the end, within the retention: the whole turn to its terminal event", async () => {
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Tell me something.");
    const sent = await subscribeWithFetch(gateway.url, variables, { token });
    const late = await resume(gateway.url, variables.input.chatId, null, token);
    expect(late.events).toEqual(sent.events);
    const tail = await resume(gateway.url, variables.input.chatId, sent.events.at(-2)!.seq, token);
    expect(tail.events).toEqual([sent.events.at(-1)]);
  });

  it("with streamId: that turn, not the chat's newer one; a turn of another chat or none gives no event", async () => {
    const token = await gateway.tokenFor(newUser());
    const first = sendInput("Tell me something.");
    const older = await subscribeWithFetch(gateway.url, first, { token });
    const streamId = older.events[0].streamId;
    const chatId = first.input.chatId;
    const newer = await subscribeWithFetch(gateway.url, sendInput("And more.", { chatId }), { token });
    expect(newer.events[0].streamId).not.toBe(streamId);

    const afterSeq = older.events.at(-3)!.seq;
    const byStream = await subscribeWithFetch(
      gateway.url,
      { chatId, afterSeq, streamId },
      { token, query: RESUME_STREAM },
    );
    expect(byStream.events).toEqual(older.events.slice(-2));
    // Without it, the same afterSeq continues the chat's latest turn instead.
    expect((await resume(gateway.url, chatId, afterSeq, token)).events).toEqual(newer.events.slice(afterSeq + 1));

    const other = await subscribeWithFetch(gateway.url, sendInput("Elsewhere."), { token });
    for (const stranger of [other.events[0].streamId, "00000000-0000-4000-8000-000000000000"]) {
      const none = await subscribeWithFetch(
        gateway.url,
        { chatId, afterSeq: null, streamId: stranger },
        { token, query: RESUME_STREAM },
      );
      expect(none.completed).toBe(true);
      expect(none.events).toEqual([]);
    }
  });

  it("a turn whose messages were deleted (deleteTrailingMessages) is not replayed, by chat nor by streamId", async () => {
    const token = await gateway.tokenFor(newUser());
    const DELETE = `mutation($id: ID!) { deleteTrailingMessages(messageId: $id) }`;
    for (const from of ["user", "assistant"] as const) {
      const variables = sendInput("Something I regret.");
      const chatId = variables.input.chatId;
      const kept = await subscribeWithFetch(gateway.url, sendInput("Keep this.", { chatId }), { token });
      const sent = await subscribeWithFetch(gateway.url, sendInput("Something I regret.", { chatId }), { token });
      const { streamId, userMessageId, assistantMessageId } = sent.events[0];
      const id = from === "user" ? userMessageId : assistantMessageId;
      expect(expectOk(await gateway.gql(DELETE, { id }, token)).deleteTrailingMessages).toBe(from === "user" ? 2 : 1);
      const byStream = await subscribeWithFetch(
        gateway.url,
        { chatId, afterSeq: null, streamId },
        { token, query: RESUME_STREAM },
      );
      expect(byStream.completed).toBe(true);
      expect(byStream.events).toEqual([]);
      // The chat's latest turn is now the one kept.
      expect((await resume(gateway.url, chatId, null, token)).events).toEqual(kept.events);
    }
  });

  it("a chat with no turn: complete with no event", async () => {
    const user = newUser();
    const token = await gateway.tokenFor(user);
    const created = expectOk(await gateway.gql(`mutation { createChat(input: {}) { id } }`, {}, token));
    const result = await resume(gateway.url, created.createChat.id, null, token);
    expect(result.completed).toBe(true);
    expect(result.events).toEqual([]);
    expect(result.results).toEqual([]);
  });

  it("who may resume: the owner; anyone signed in for a public chat; forbidden, not found, unauthorized, bad afterSeq", async () => {
    const owner = await gateway.tokenFor(newUser());
    const other = await gateway.tokenFor(newUser());
    const privateTurn = await subscribeWithFetch(gateway.url, sendInput("hello"), { token: owner });
    const privateChat = privateTurn.events[0].chatId;
    const publicVariables = sendInput("hello", { visibility: "PUBLIC" });
    const publicTurn = await subscribeWithFetch(gateway.url, publicVariables, { token: owner });

    expect((await resume(gateway.url, privateChat, null, owner)).events).toEqual(privateTurn.events);
    expect((await resume(gateway.url, publicVariables.input.chatId, null, other)).events).toEqual(publicTurn.events);
    const refusal = async (chatId: string, token: string | null, afterSeq: number | null = null) => {
      const result = await resume(gateway.url, chatId, afterSeq, token);
      expect(result.completed).toBe(true);
      expect(result.events).toEqual([]);
      return result.results[0]?.errors?.[0]?.extensions?.code;
    };
    expect(await refusal(privateChat, other)).toBe("forbidden:chat");
    expect(await refusal(crypto.randomUUID(), owner)).toBe("not_found:chat");
    expect(await refusal(privateChat, null)).toBe("unauthorized:chat");
    expect(await refusal(privateChat, owner, -2)).toBe("bad_request:api");
    expect(await refusal("not-a-uuid", owner)).toBe("bad_request:api");
  });
});

describe("resumeStream of a public chat made private", () => {
  it("its other readers' streams end with forbidden:chat within seconds; the owner's goes on", async () => {
    fake.handle(endless);
    try {
      const owner = await gateway.tokenFor(newUser());
      const other = await gateway.tokenFor(newUser());
      const { chatId } = await sendAndLeave(gateway.url, owner, 3, { visibility: "PUBLIC" });
      let events = 0;
      const controller = new AbortController();
      const theirs = subscribeWithFetch(
        gateway.url,
        { chatId, afterSeq: null },
        {
          token: other,
          query: RESUME_STREAM,
          signal: controller.signal,
          onEvent: () => void events++,
        },
      );
      const ownerReads = resume(gateway.url, chatId, null, owner);
      await eventually(async () => events >= 5);
      const UPDATE = `mutation($id: ID!) { updateChatVisibility(id: $id, visibility: PRIVATE) { id } }`;
      expectOk(await gateway.gql(UPDATE, { id: chatId }, owner));
      const madePrivateAt = Date.now();
      const timer = setTimeout(() => controller.abort(), 10_000);
      const result = await theirs;
      clearTimeout(timer);
      expect(result.aborted).toBe(false);
      expect(result.completed).toBe(true);
      expect(Date.now() - madePrivateAt).toBeLessThan(5_000);
      expect(result.results.at(-1)?.errors?.[0]?.extensions?.code).toBe("forbidden:chat");
      // The turn runs on, and its owner still reads it.
      expect(expectOk(await gateway.gql(STOP_STREAM, { chatId }, owner)).stopStream).toBe(true);
      const owners = await ownerReads;
      expect(owners.events.at(-1)?.__typename).toBe("StreamAborted");
    } finally {
      fake.handle(answer);
    }
  });
});

describe("resumeStream of a public chat made private while its turn is silent", () => {
  it("its other readers are cut off with forbidden:chat within seconds, without waiting for an event", async () => {
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    fake.handle(heldTextTurn("Thinking about it", " - done.", () => released));
    try {
      const owner = await gateway.tokenFor(newUser());
      const other = await gateway.tokenFor(newUser());
      const variables = sendInput("A hard question.", { visibility: "PUBLIC" });
      let started = false;
      const sender = subscribeWithFetch(gateway.url, variables, {
        token: owner,
        onEvent: (event) => void (event.__typename === "TextDelta" && (started = true)),
      });
      // The chat exists, and its turn has said its first part, before the other reader comes.
      await eventually(async () => started, 10_000);
      let deltas = 0;
      const theirs = subscribeWithFetch(
        gateway.url,
        { chatId: variables.input.chatId, afterSeq: null },
        {
          token: other,
          query: RESUME_STREAM,
          signal: AbortSignal.timeout(15_000),
          onEvent: (event) => void (event.__typename === "TextDelta" && deltas++),
        },
      );
      // The reader has the first part too; the turn now says nothing until released.
      await eventually(async () => deltas >= 1, 10_000);
      const UPDATE = `mutation($id: ID!) { updateChatVisibility(id: $id, visibility: PRIVATE) { id } }`;
      expectOk(await gateway.gql(UPDATE, { id: variables.input.chatId }, owner));
      const madePrivateAt = Date.now();
      const result = await theirs;
      expect(result.aborted).toBe(false);
      expect(Date.now() - madePrivateAt).toBeLessThan(5_000);
      expect(result.results.at(-1)?.errors?.[0]?.extensions?.code).toBe("forbidden:chat");
      release();
      expect((await sender).events.at(-1)?.__typename).toBe("StreamFinished");
    } finally {
      release();
      fake.handle(answer);
    }
  });
});

describe.skipIf(!redisUrl)("resumeStream across instances (REDIS_URL)", () => {
  let other: TestGateway;
  beforeAll(async () => {
    other = await startTestGateway({ STREAMER_URL: fake.url, REDIS_URL: redisUrl! }, { database: gateway.database });
  });
  afterAll(() => other?.close());

  it("on another instance, from null: exactly the sender's stream, event for event", async () => {
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Tell me something.");
    let resumed: ReturnType<typeof resume> | null = null;
    const sent = await subscribeWithFetch(gateway.url, variables, {
      token,
      onEvent: (_event, all) => {
        if (textDeltaCount(all) === 2) resumed ??= resume(other.url, variables.input.chatId, null, token);
      },
    });
    const replayed = await resumed!;
    expect(replayed.completed).toBe(true);
    expect(replayed.events).toEqual(sent.events);
    // And after a disconnect, from the last seq, on the other instance.
    const late = await resume(other.url, variables.input.chatId, sent.events[4].seq, token);
    expect(late.events).toEqual(sent.events.slice(5));
  });

  it("a resumer holding a seq past the running turn's (its chat's earlier turn's) ends with it, on either instance", async () => {
    const token = await gateway.tokenFor(newUser());
    const first = sendInput("Tell me something.");
    const chatId = first.input.chatId;
    const earlier = await subscribeWithFetch(gateway.url, first, { token });
    // A client that kept the earlier turn's last seq and resumes the chat without streamId.
    const afterSeq = earlier.events.at(-1)!.seq + 10;
    let resumed: Promise<Awaited<ReturnType<typeof resume>>[]> | null = null;
    const sent = await subscribeWithFetch(gateway.url, sendInput("And more.", { chatId }), {
      token,
      onEvent: (_event, all) => {
        if (textDeltaCount(all) === 1)
          resumed ??= Promise.all(
            [other.url, gateway.url].map((url) => resume(url, chatId, afterSeq, token, AbortSignal.timeout(15_000))),
          );
      },
    });
    expect(sent.events.at(-1)!.__typename).toBe("StreamFinished");
    for (const result of await resumed!) {
      expect(result.completed).toBe(true);
      expect(result.events).toEqual([]);
    }
  });

  it("a stop on instance B of a turn running on A reaches every reader, on both instances", async () => {
    fake.handle(endless);
    try {
      const token = await gateway.tokenFor(newUser());
      const variables = sendInput("Tell me everything.");
      const chatId = variables.input.chatId;
      let readers: Promise<Awaited<ReturnType<typeof resume>>>[] = [];
      let stopped: Promise<unknown> | null = null;
      const sent = await subscribeWithFetch(gateway.url, variables, {
        token,
        onEvent: (_event, all) => {
          // Once each: events that are not deltas (the terminal one among them) keep the count where it was.
          if (textDeltaCount(all) === 2 && readers.length === 0)
            readers = [resume(other.url, chatId, null, token), resume(gateway.url, chatId, 1, token)];
          if (textDeltaCount(all) === 10) stopped ??= other.gql(STOP_STREAM, { chatId }, token);
        },
      });
      expect(expectOk((await stopped) as any).stopStream).toBe(true);
      expect(sent.events.at(-1)).toMatchObject({ __typename: "StreamAborted", partialMessage: { status: "ABORTED" } });
      const [onB, onA] = await Promise.all(readers);
      expect(onB.events).toEqual(sent.events);
      expect(onA.events).toEqual(sent.events.slice(2));
      const request = fake.requests.at(-1)!;
      await eventually(async () => request.closedAt !== null);
      expect(request.closedEarly).toBe(true);
    } finally {
      fake.handle(answer);
    }
  });
});
