// The framework-free client (client/index.ts) against an in-process gateway:
// typed requests, the typed sendMessage stream, the live message it folds the
// events into (which must end up equal to the stored message), stop, refusals,
// and resuming (a cut connection, a reload). Result types come from the
// generated documents only.
import { afterAll, beforeAll, describe, expect, expectTypeOf, test } from "vitest";
import {
  ChatDocument,
  createGatewayClient,
  CreateGuestSessionDocument,
  GatewayError,
  MeDocument,
  newId,
  resumeStream,
  ResumeStreamDocument,
  SendMessageDocument,
  StopStreamDocument,
  sendMessage,
  sendMessageInput,
  type ChatMessage,
  type GatewayClient,
  type StreamEvent,
  type TurnState,
} from "../client/index.ts";
import { useTestGateway } from "./support/gateway.ts";

const gateway = useTestGateway({ MOCK_DELTA_DELAY_MS: "5" }, { resetEachTest: false });
let client: GatewayClient;
let token: string;

beforeAll(async () => {
  const anonymous = createGatewayClient({ url: `${gateway.url}/graphql` });
  token = (await anonymous.request(CreateGuestSessionDocument)).createGuestSession.token;
  client = createGatewayClient({ url: `${gateway.url}/graphql`, token: () => token });
});

afterAll(() => client?.dispose());

async function storedMessages(chatId: string): Promise<ChatMessage[]> {
  const { chat } = await client.request(ChatDocument, { id: chatId });
  return chat?.messages.edges.flatMap((edge) => (edge ? [edge.node] : [])) ?? [];
}

describe("requests", () => {
  test("a query resolves with its typed data", async () => {
    const { me } = await client.request(MeDocument);
    expectTypeOf(me.messagesLeftToday).toEqualTypeOf<number>();
    expectTypeOf(me.type).toEqualTypeOf<"GUEST" | "REGULAR">();
    expect(me).toMatchObject({ type: "GUEST", messagesLeftToday: 20 });
  });

  test("GraphQL errors reject with a GatewayError carrying the Chat SDK code", async () => {
    const signedOut = createGatewayClient({ url: `${gateway.url}/graphql` });
    const error = await signedOut.request(MeDocument).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayError);
    expect((error as GatewayError).code).toBe("unauthorized:chat");
    const bad = await client.request(ChatDocument, { id: "not-a-uuid" }).catch((e: unknown) => e);
    expect((bad as GatewayError).code).toBe("bad_request:api");
  });

  test("an unreachable gateway rejects with offline:chat", async () => {
    const nowhere = createGatewayClient({ url: "http://127.0.0.1:9/graphql" });
    const error = await nowhere.request(MeDocument).catch((e: unknown) => e);
    expect((error as GatewayError).code).toBe("offline:chat");
  });

  test("a wrong path is the caller's mistake (bad_request:api, not retryable), for requests and streams alike", async () => {
    const wrong = createGatewayClient({ url: `${gateway.url}/graphq`, token: () => token });
    const error = (await wrong.request(MeDocument).catch((e: unknown) => e)) as GatewayError;
    expect(error).toMatchObject({ code: "bad_request:api", retryable: false, status: 404 });
    expect(error.message).toMatch(/is .*\/graphq its GraphQL endpoint/);
    const turn = sendMessage(wrong, sendMessageInput(newId(), "Hello?"), { reconnect: false });
    const ended = await turn.done;
    expect(ended).toMatchObject({ status: "failed", error: { code: "bad_request:api" } });
    wrong.dispose();
  });
});

describe("sendMessage", () => {
  test("the live message grows event by event and ends equal to the stored one", async () => {
    const chatId = newId();
    const updates: TurnState[] = [];
    const turn = sendMessage(client, sendMessageInput(chatId, "What is the weather?"), {
      onUpdate: (s) => updates.push(s),
    });
    expect(turn.state.status).toBe("submitted");
    expect(turn.state.userMessage!.parts).toEqual([{ __typename: "TextPart", text: "What is the weather?" }]);
    const final = await turn.done;

    expect(final.status).toBe("finished");
    expect(final.error).toBeNull();
    expect(final.finishReason).toBe("stop");
    expect(final.usage?.totalTokens).toBeGreaterThan(0);
    const streaming = updates.filter((s) => s.status === "streaming");
    expect(streaming.length).toBeGreaterThan(10);
    expect(streaming.map((s) => s.seq)).toEqual(streaming.map((_, i) => i));

    // What was shown just before the terminal event is what was stored.
    const lastLive = streaming.at(-1)!;
    expect(lastLive.message!.parts).toEqual(final.message!.parts);
    expect(lastLive.message!.id).toBe(final.message!.id);
    expect(final.message!.parts.map((p) => p.__typename)).toEqual([
      "StepStartPart",
      "ReasoningPart",
      "TextPart",
      "ToolPart",
      "StepStartPart",
      "TextPart",
    ]);
    // The tool part went through its states while streaming.
    const toolStates = streaming.flatMap(
      (s) => s.message?.parts.filter((p) => p.__typename === "ToolPart").map((p) => p.state) ?? [],
    );
    expect(new Set(toolStates)).toEqual(new Set(["input-streaming", "input-available", "output-available"]));

    const stored = await storedMessages(chatId);
    expect(stored.map((m) => m.role)).toEqual(["USER", "ASSISTANT"]);
    expect(stored[0].id).toBe(turn.state.userMessage!.id);
    expect(stored[1]).toEqual(final.message);
  });

  test("stop() stops a slow answer: the partial answer is stored as ABORTED", async () => {
    const chatId = newId();
    let turn!: ReturnType<typeof sendMessage>;
    let stopping: Promise<boolean> | null = null;
    turn = sendMessage(client, sendMessageInput(chatId, "[slow] A long one"), {
      onUpdate: (state) => {
        const text =
          state.message?.parts
            .filter((p) => p.__typename === "TextPart")
            .map((p) => p.text)
            .join("") ?? "";
        if (!stopping && text.includes("Part 2 of")) stopping = turn.stop();
      },
    });
    const final = await turn.done;
    expect(await stopping).toBe(true);
    expect(final.status).toBe("stopped");
    expect(final.message!.status).toBe("ABORTED");
    const stored = await storedMessages(chatId);
    expect(stored[1]).toEqual(final.message);
    expect(JSON.stringify(stored[1].parts)).toContain("Part 2 of");
    expect(JSON.stringify(stored[1].parts)).not.toContain("Part 400 of");
  });

  test("ids written in upper case (Swift's UUID().uuidString) are the gateway's: the turn finishes as stored", async () => {
    const chatId = newId().toUpperCase();
    const messageId = newId().toUpperCase();
    const final = await sendMessage(client, sendMessageInput(chatId, "[plain] Hello?", { messageId })).done;
    expect(final.status).toBe("finished");
    expect(final.userMessage?.id).toBe(messageId.toLowerCase());
    const stored = await storedMessages(chatId.toLowerCase());
    expect(stored.map((m) => m.id)).toEqual([messageId.toLowerCase(), final.message!.id]);
  });

  test("a refusal fails the turn with its code, before any event", async () => {
    const updates: TurnState[] = [];
    const final = await sendMessage(client, sendMessageInput(newId(), "x".repeat(2001)), {
      onUpdate: (s) => updates.push(s),
    }).done;
    expect(final.status).toBe("failed");
    expect(final.error?.code).toBe("bad_request:api");
    expect(final.message).toBeNull();
    expect(updates.map((s) => s.status)).toEqual(["failed"]);
  });

  test("iterate yields typed events; breaking out closes the stream, the turn runs on and ResumeStream picks it up", async () => {
    const chatId = newId();
    const seen: StreamEvent["__typename"][] = [];
    let lastSeq = -1;
    const events = client.iterate(SendMessageDocument, { input: sendMessageInput(chatId, "[slow] Go") });
    for await (const { sendMessage: event } of events) {
      seen.push(event.__typename);
      lastSeq = event.seq;
      if (event.__typename === "TextDelta") {
        expectTypeOf(event.delta).toEqualTypeOf<string>();
        break;
      }
    }
    expect(seen[0]).toBe("StreamStarted");
    expect((await storedMessages(chatId)).map((m) => m.status)).toEqual(["COMPLETE", "STREAMING"]);

    const resumed: { __typename: string; seq: number }[] = [];
    for await (const { resumeStream: event } of client.iterate(ResumeStreamDocument, { chatId, afterSeq: lastSeq })) {
      resumed.push(event);
      if (resumed.length === 1) await client.request(StopStreamDocument, { chatId });
    }
    expect(resumed.map((e) => e.seq)).toEqual(resumed.map((_, i) => lastSeq + 1 + i));
    expect(resumed.at(-1)!.__typename).toBe("StreamAborted");
    expect((await storedMessages(chatId)).map((m) => m.status)).toEqual(["COMPLETE", "ABORTED"]);
  });
});

/**
 * A fetch whose first SendMessage stream is cut after `events` SSE events, as
 * a network drop would (the body errors); the operations sent are recorded.
 */
function cuttingFetch(events: number) {
  const operations: string[] = [];
  let cut = false;
  const fetchFn: typeof fetch = async (input, init) => {
    const body = typeof init?.body === "string" ? (JSON.parse(init.body) as { operationName?: string }) : {};
    if (body.operationName) operations.push(body.operationName);
    const response = await fetch(input, init);
    if (cut || body.operationName !== "SendMessage" || !response.body) return response;
    cut = true;
    let seen = 0;
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    const severed = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { done, value } = await reader.read();
        if (done) return controller.close();
        controller.enqueue(value);
        seen += (decoder.decode(value, { stream: true }).match(/^event: next$/gm) ?? []).length;
        if (seen >= events) {
          void reader.cancel();
          controller.error(new TypeError("network error"));
        }
      },
    });
    return new Response(severed, { status: response.status, headers: response.headers });
  };
  return { fetchFn, operations };
}

/** The [long:N] answer's tokens, in the order shown. */
const tokensOf = (state: TurnState) =>
  (state.message?.parts ?? []).flatMap((p) => (p.__typename === "TextPart" ? (p.text.match(/token\d+/g) ?? []) : []));

describe("resuming", () => {
  test("a connection cut mid-answer is resumed from the last seq: every delta shown once, and the answer ends as stored", async () => {
    const { fetchFn, operations } = cuttingFetch(8);
    const cutClient = createGatewayClient({ url: `${gateway.url}/graphql`, token: () => token, fetch: fetchFn });
    const chatId = newId();
    const updates: TurnState[] = [];
    const final = await sendMessage(cutClient, sendMessageInput(chatId, "[long:40] Keep going"), {
      onUpdate: (s) => updates.push(s),
    }).done;

    expect(operations).toEqual(["SendMessage", "ResumeStream"]);
    expect(updates.map((s) => s.status)).toContain("resuming");
    expect(final.status).toBe("finished");
    const expected = Array.from({ length: 40 }, (_, i) => `token${String(i + 1).padStart(6, "0")}`);
    expect(tokensOf(final)).toEqual(expected);
    // What was shown grew delta by delta, never repeating one.
    for (const state of updates) expect(expected.slice(0, tokensOf(state).length)).toEqual(tokensOf(state));
    const seqs = updates.filter((s) => s.status === "streaming").map((s) => s.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i));
    expect((await storedMessages(chatId))[1]).toEqual(final.message);
    cutClient.dispose();
  });

  test("resumeStream after a reload follows the running answer from its start, over its STREAMING snapshot", async () => {
    const chatId = newId();
    const sender = sendMessage(client, sendMessageInput(chatId, "[slow] A long one"));
    await expect.poll(() => sender.state.seq, { timeout: 10_000 }).toBeGreaterThan(10);
    const snapshot = (await storedMessages(chatId))[1];
    expect(snapshot.status).toBe("STREAMING");
    sender.close();

    const resumed = resumeStream(client, chatId, { message: snapshot });
    expect(resumed.state).toMatchObject({ status: "resuming", message: snapshot });
    await expect.poll(() => resumed.state.seq, { timeout: 10_000 }).toBeGreaterThan(sender.state.seq);
    expect(await resumed.stop()).toBe(true);
    const final = await resumed.done;
    expect(final.status).toBe("stopped");
    expect((await storedMessages(chatId))[1]).toEqual(final.message);
  });
});
