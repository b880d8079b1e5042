// Following a turn across dropped connections (client/turn.ts), against a
// scripted client: what the gateway sends on each connection is given, and
// the live message the user sees is checked: the same as with no drop, with
// no part shown twice and none missing.
import { describe, expect, test } from "vitest";
import type { GatewayClient, Sink } from "../client/core.ts";
import { GatewayError, operationNameOf, type TypedDocumentNode } from "../client/core.ts";
import {
  applyStreamEvent,
  resumeState,
  startTurn,
  type ChatMessage,
  type StreamEvent,
  type TurnState,
} from "../client/stream.ts";
import { resumeStream, resumeTurn, sendMessage } from "../client/turn.ts";

const chatId = "7a1e5c1e-3c1a-4f5e-9a53-0b0c7f6f2a11";
const assistantMessageId = "0d6a4b8e-31a5-4a55-8a8c-6c9e6d0e9c11";
const input = { chatId, message: { id: "u1", parts: [{ text: "hi" }] } };
const fast = { reconnect: { attempts: 3, delayMs: 1, maxDelayMs: 2 } };

type Unnumbered<T> = T extends unknown ? Omit<T, "seq"> : never;

/** A turn's events, numbered from 0, ending in StreamFinished with the message they fold into. */
function turnEvents(deltas: string[], userMessageId = "u1"): StreamEvent[] {
  const body: Unnumbered<StreamEvent>[] = [
    { __typename: "StreamStarted", streamId: "s1", chatId, userMessageId, assistantMessageId },
    { __typename: "StepStarted" },
    ...deltas.map((delta) => ({ __typename: "TextDelta" as const, partId: "t1", delta })),
    { __typename: "StepFinished" },
  ];
  const events = body.map((event, seq) => ({ ...event, seq }) as StreamEvent);
  const folded = events.reduce(applyStreamEvent, startTurn(input));
  const message: ChatMessage = { ...folded.message!, status: "COMPLETE" };
  return [...events, { __typename: "StreamFinished", seq: events.length, finishReason: "stop", usage: null, message }];
}

const textOf = (state: TurnState) =>
  state.message?.parts.flatMap((p) => (p.__typename === "TextPart" ? [p.text] : [])).join("") ?? "";

interface Connection {
  operation: string;
  variables: Record<string, unknown>;
  sink: Sink<unknown>;
  closed: boolean;
  /** Sends these events on this connection. */
  send(events: StreamEvent[]): void;
}

/** A GatewayClient whose subscriptions the test drives, connection by connection. */
function scriptedClient() {
  const connections: Connection[] = [];
  const stops: string[] = [];
  const client = {
    subscribe<R, V>(document: TypedDocumentNode<R, V>, variables: V, sink: Sink<R>) {
      const operation = operationNameOf(document);
      const field = operation === "SendMessage" ? "sendMessage" : "resumeStream";
      const connection: Connection = {
        operation,
        variables: variables as Record<string, unknown>,
        sink: sink as Sink<unknown>,
        closed: false,
        send: (events) => {
          for (const event of events) if (!connection.closed) sink.next({ [field]: event } as R);
        },
      };
      connections.push(connection);
      return () => void (connection.closed = true);
    },
    async request(_document: unknown, variables: { chatId: string }) {
      stops.push(variables.chatId);
      return { stopStream: true };
    },
  } as unknown as GatewayClient;
  const connection = async (n: number) => {
    await expect.poll(() => connections.length).toBeGreaterThan(n);
    return connections[n];
  };
  return { client, connections, stops, connection };
}

const dropped = () =>
  new GatewayError([{ message: "network error", extensions: { code: "offline:chat" } }], undefined, true);

describe("a dropped connection is resumed from the last seq", () => {
  test("sendMessage cut mid-answer resumes with afterSeq, and the overlap is not shown twice", async () => {
    const events = turnEvents(["Hel", "lo ", "wor", "ld"]);
    const { client, connection } = scriptedClient();
    const updates: TurnState[] = [];
    const turn = sendMessage(client, input, { ...fast, onUpdate: (s) => updates.push(s) });

    const first = await connection(0);
    expect(first.operation).toBe("SendMessage");
    first.send(events.slice(0, 4)); // up to "lo "
    first.sink.error?.(dropped());
    expect(turn.state.status).toBe("resuming");
    expect(textOf(turn.state)).toBe("Hello ");

    const second = await connection(1);
    expect(second.operation).toBe("ResumeStream");
    expect(second.variables).toEqual({ chatId, afterSeq: 3, streamId: "s1" });
    // A gateway may repeat what was seen: it is folded once.
    second.send(events.slice(2));
    const final = await turn.done;

    expect(final.status).toBe("finished");
    expect(final.message).toEqual((events.at(-1) as { message: ChatMessage }).message);
    const texts = updates.map(textOf);
    expect(texts.filter((t, i) => t !== texts[i - 1])).toEqual(["", "Hel", "Hello ", "Hello wor", "Hello world"]);
    expect(updates.map((s) => s.status)).toContain("resuming");
    const seqs = updates.filter((s) => s.status === "streaming").map((s) => s.seq);
    expect(seqs).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  test("a gap in seq is never folded: the follower reconnects from the last seq it holds", async () => {
    const events = turnEvents(["a", "b", "c", "d"]);
    const { client, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    const first = await connection(0);
    first.send(events.slice(0, 3)); // seq 0..2: "a"
    first.send([events[4]]); // seq 4 ("c") without seq 3 ("b")
    expect(first.closed).toBe(true);
    expect(textOf(turn.state)).toBe("a");

    const second = await connection(1);
    expect(second.variables).toEqual({ chatId, afterSeq: 2, streamId: "s1" });
    second.send(events.slice(3));
    expect(textOf(await turn.done)).toBe("abcd");
  });

  test("the stream ending without a terminal event is a drop too", async () => {
    const events = turnEvents(["x", "y"]);
    const { client, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    const first = await connection(0);
    first.send(events.slice(0, 3));
    first.sink.complete?.();
    const second = await connection(1);
    expect(second.variables).toEqual({ chatId, afterSeq: 2, streamId: "s1" });
    second.send(events.slice(3));
    expect((await turn.done).status).toBe("finished");
  });

  test("reconnects are bounded: the turn then fails offline, its message kept as it was shown", async () => {
    const events = turnEvents(["p", "q"]);
    const { client, connections, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    (await connection(0)).send(events.slice(0, 3));
    for (let n = 0; n <= fast.reconnect.attempts; n++) (await connection(n)).sink.error?.(dropped());
    const final = await turn.done;
    expect(connections).toHaveLength(fast.reconnect.attempts + 1);
    expect(final.status).toBe("failed");
    expect(final.error).toMatchObject({ code: "offline:chat", network: true });
    expect(final.message).toMatchObject({
      status: "STREAMING",
      parts: [{ __typename: "StepStartPart" }, { __typename: "TextPart", text: "p" }],
    });

    // Later (back online), the held turn resumes from its seq.
    const again = resumeTurn(client, final, fast);
    const resumed = await connection(fast.reconnect.attempts + 1);
    expect(resumed.variables).toEqual({ chatId, afterSeq: 2, streamId: "s1" });
    resumed.send(events.slice(3));
    expect(textOf(await again.done)).toBe("pq");
  });

  test("connections that only repeat what was seen count as failed attempts", async () => {
    const events = turnEvents(["p", "q"]);
    const { client, connections, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    for (let n = 0; n <= fast.reconnect.attempts; n++) {
      const next = await connection(n);
      next.send(events.slice(0, 3));
      next.sink.error?.(dropped());
    }
    expect((await turn.done).status).toBe("failed");
    expect(connections).toHaveLength(fast.reconnect.attempts + 1);
  });

  test("a resume refused for a moment (retryable offline:chat: Redis not answering) is tried again", async () => {
    const events = turnEvents(["a", "b"]);
    const { client, connection } = scriptedClient();
    const turn = resumeStream(client, chatId, fast);
    const refusal = {
      message: "The service is not answering right now.",
      extensions: { code: "offline:chat", retryable: true },
    };
    (await connection(0)).sink.error?.(new GatewayError([refusal]));
    expect(turn.state.status).toBe("resuming");
    (await connection(1)).send(events);
    expect(await turn.done).toMatchObject({ status: "finished" });
  });

  test("a replay whose log misses events (a Redis outage) still ends at its terminal event, with the stored answer", async () => {
    const events = turnEvents(["a", "b", "c", "d"]);
    const { client, connections, connection } = scriptedClient();
    const turn = resumeStream(client, chatId, fast);
    // Events 4-6 never reached the log; the terminal event carries the whole stored answer.
    (await connection(0)).send([...events.slice(0, 4), events.at(-1)!]);
    const final = await turn.done;
    expect(final.status).toBe("finished");
    expect(final.message).toEqual((events.at(-1) as { message: ChatMessage }).message);
    expect(textOf(final)).toBe("abcd");
    expect(connections).toHaveLength(1);
  });

  test("a refusal is not retried", async () => {
    const { client, connections, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    (await connection(0)).sink.error?.(
      new GatewayError([{ message: "No more today.", extensions: { code: "rate_limit:chat" } }]),
    );
    const final = await turn.done;
    expect(final.status).toBe("failed");
    expect(final.error).toEqual({ code: "rate_limit:chat", message: "No more today." });
    expect(connections).toHaveLength(1);
  });

  test("cut before StreamStarted: a resume that finds another turn does not show it as ours", async () => {
    const { client, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    (await connection(0)).sink.error?.(dropped());
    const second = await connection(1);
    expect(second.variables).toEqual({ chatId, afterSeq: null });
    second.send(turnEvents(["someone else's"], "another-user-message"));
    const final = await turn.done;
    expect(final.status).toBe("failed");
    expect(final.error?.code).toBe("offline:chat");
    expect(final.message).toBeNull();
  });
});

describe("a message cut before it reached the gateway", () => {
  test("a new chat's resume answered not_found: the message was not sent (no 'chat no longer exists')", async () => {
    const { client, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    (await connection(0)).sink.error?.(dropped());
    // The request never arrived: the chat it would have created does not exist.
    (await connection(1)).sink.error?.(
      new GatewayError([{ message: "The requested chat was not found.", extensions: { code: "not_found:chat" } }]),
    );
    const final = await turn.done;
    expect(final.status).toBe("failed");
    expect(final.error?.code).toBe("offline:chat");
    expect(final.error?.message).toMatch(/dropped before the answer started/);
    expect(final.seq).toBe(-1);
  });

  test("held after its reconnects ran out, resumeTurn keeps its message and follows the turn found, if it is its own", async () => {
    const { client, connection } = scriptedClient();
    const first = sendMessage(client, input, { reconnect: false });
    (await connection(0)).sink.error?.(dropped());
    const held = await first.done;
    expect(held.error?.network).toBe(true);
    const resumed = resumeTurn(client, held, fast);
    const again = await connection(1);
    expect(again.variables).toEqual({ chatId, afterSeq: null });
    again.send(turnEvents(["Hello"]));
    const final = await resumed.done;
    expect(final.status).toBe("finished");
    expect(final.userMessage?.id).toBe("u1");
    expect(textOf(final)).toBe("Hello");
  });
});

describe("resumeStream after a reload", () => {
  test("replays from StreamStarted over the stored snapshot, then follows live", async () => {
    const events = turnEvents(["Once ", "upon ", "a time"]);
    const snapshot: ChatMessage = {
      id: assistantMessageId,
      chatId,
      role: "ASSISTANT",
      status: "STREAMING",
      createdAt: "2026-01-01T00:00:00.000Z",
      parts: [
        { __typename: "StepStartPart", stepStart: true },
        { __typename: "TextPart", text: "Once " },
      ],
    };
    const { client, connection } = scriptedClient();
    const updates: TurnState[] = [];
    const turn = resumeStream(client, chatId, { ...fast, message: snapshot, onUpdate: (s) => updates.push(s) });
    expect(turn.state).toMatchObject({ status: "resuming", message: snapshot, userMessage: null, seq: -1 });

    const first = await connection(0);
    expect(first.variables).toEqual({ chatId, afterSeq: null });
    first.send(events.slice(0, 3)); // the replay: "Once "
    expect(textOf(turn.state)).toBe("Once ");
    first.send(events.slice(3)); // live
    const final = await turn.done;
    expect(final.status).toBe("finished");
    expect(textOf(final)).toBe("Once upon a time");
    expect(updates.map(textOf).filter((t) => t.includes("Once Once"))).toEqual([]);
  });

  test("a turn whose events died with a crashed gateway: a lone StreamFailed at seq 0 ends it, not a gap", async () => {
    const { client, connections, connection } = scriptedClient();
    const turn = resumeStream(client, chatId, fast);
    const partialMessage: ChatMessage = {
      id: assistantMessageId,
      chatId,
      role: "ASSISTANT",
      status: "FAILED",
      createdAt: "2026-01-01T00:00:00.000Z",
      parts: [{ __typename: "TextPart", text: "So far" }],
    };
    (await connection(0)).send([
      { __typename: "StreamFailed", seq: 0, code: "offline:chat", reason: "The instance stopped.", partialMessage },
    ]);
    expect(await turn.done).toMatchObject({
      status: "failed",
      error: { code: "offline:chat", message: "The instance stopped." },
      message: partialMessage,
    });
    expect(connections).toHaveLength(1);
  });

  test("no turn to resume: ended, showing the stored messages", async () => {
    const { client, connection } = scriptedClient();
    const turn = resumeStream(client, chatId, fast);
    (await connection(0)).sink.complete?.();
    expect(await turn.done).toMatchObject({ status: "ended", message: null });
  });
});

describe("stop and close", () => {
  test("stop() before StreamStarted is sent once the turn has started", async () => {
    const events = turnEvents(["a"]);
    const { client, stops, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    const stopping = turn.stop();
    expect(stops).toEqual([]);
    (await connection(0)).send(events.slice(0, 1));
    expect(await stopping).toBe(true);
    expect(stops).toEqual([chatId]);
  });

  test("stop() before StreamStarted is true when the turn's StreamAborted beats the stop's answer", async () => {
    const events = turnEvents(["a"]);
    const { client, stops, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    const stopping = turn.stop();
    const first = await connection(0);
    first.send(events.slice(0, 1));
    // The gateway ends the turn before stopStream's response arrives (so with Redis).
    first.send([{ __typename: "StreamAborted", seq: 1, reason: "Stopped.", partialMessage: null }]);
    expect(await turn.done).toMatchObject({ status: "stopped", message: null });
    expect(await stopping).toBe(true);
    expect(stops).toEqual([chatId]);
  });

  test("close() stops following without stopping the turn", async () => {
    const { client, stops, connection } = scriptedClient();
    const turn = sendMessage(client, input, fast);
    const first = await connection(0);
    first.send(turnEvents(["a", "b"]).slice(0, 3));
    turn.close();
    expect(first.closed).toBe(true);
    expect(stops).toEqual([]);
    expect(await turn.done).toMatchObject({ status: "streaming", seq: 2 });
  });

  test("a resumed turn starts as resuming, with no event folded yet", () => {
    expect(resumeState(chatId)).toMatchObject({ status: "resuming", seq: -1, message: null });
  });
});
