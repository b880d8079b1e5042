import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import {
  parseJsonEventStream,
  readUIMessageStream,
  uiMessageChunkSchema,
  type UIMessage,
  type UIMessageChunk,
} from "ai";
import { SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signInternalToken } from "../src/auth/internal-token.ts";
import { parseEnv, type Env } from "../src/config/env.ts";
import { mockModelActivity } from "../src/streamer/mock-model.ts";
import { startStreamer, type RunningStreamer } from "../src/streamer/server.ts";
import { streamChatTurn } from "../src/streamer/turn.ts";
import { keepAliveResponseHeaders } from "./support/http.ts";

const SECRET = "streamer-test-internal-secret-0123456789";
const env: Env = parseEnv({ MOCK_DELTA_DELAY_MS: "0", NEXTJS_INTERNAL_TOKEN: SECRET });

let streamer: RunningStreamer;
beforeAll(async () => {
  streamer = await startStreamer(env, { port: 0 });
});
afterAll(() => streamer.close());

function userMessage(text: string, id = crypto.randomUUID()): UIMessage {
  return { id, role: "user", parts: [{ type: "text", text }] };
}

function requestBody(text: string, overrides: Record<string, unknown> = {}) {
  return {
    id: "chat-1",
    message: userMessage(text),
    selectedChatModel: "chat-model",
    selectedVisibilityType: "private",
    existingMessages: [],
    ...overrides,
  };
}

async function post(
  url: string,
  body: unknown,
  options: { token?: string | null; signal?: AbortSignal; chatId?: string } = {},
): Promise<Response> {
  const token =
    options.token === undefined
      ? await signInternalToken(SECRET, { userId: "user-1", chatId: options.chatId ?? "chat-1" })
      : options.token;
  return fetch(`${url}/api/chat/stream`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token === null ? {} : { authorization: `Bearer ${token}` }) },
    body: typeof body === "string" ? body : JSON.stringify(body),
    signal: options.signal,
  });
}

async function readChunks(response: Response): Promise<UIMessageChunk[]> {
  const results = await collect(parseJsonEventStream({ stream: response.body!, schema: uiMessageChunkSchema }));
  return results.map((result) => {
    if (!result.success) throw result.error;
    return result.value;
  });
}

// The DOM lib types lack ReadableStream's async iteration.
async function collect<T>(stream: ReadableStream<T>, onChunk?: (chunk: T) => void): Promise<T[]> {
  const reader = stream.getReader();
  const items: T[] = [];
  for (let next = await reader.read(); !next.done; next = await reader.read()) {
    items.push(next.value);
    onChunk?.(next.value);
  }
  return items;
}

async function assemble(chunks: UIMessageChunk[]): Promise<UIMessage> {
  let last: UIMessage | undefined;
  for await (const message of readUIMessageStream({
    stream: new ReadableStream({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    }),
  }))
    last = message;
  return last!;
}

const textOf = (message: UIMessage) => message.parts.flatMap((p) => (p.type === "text" ? [p.text] : [])).join("");

describe("built-in streamer: POST /api/chat/stream", () => {
  it("streams a two-step turn with reasoning, a tool call and an answer echoing the user", async () => {
    const response = await post(streamer.url, requestBody("What is the weather in Paris?"));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream");
    expect(response.headers.get("x-vercel-ai-ui-message-stream")).toBe("v1");

    const chunks = await readChunks(response);
    const types = chunks.map((c) => c.type);
    const expectedOrder = [
      "start",
      "start-step",
      "reasoning-start",
      "reasoning-delta",
      "reasoning-end",
      "text-start",
      "text-delta",
      "text-end",
      "tool-input-start",
      "tool-input-delta",
      "tool-input-available",
      "tool-output-available",
      "finish-step",
      "start-step",
      "text-start",
      "text-delta",
      "text-end",
      "finish-step",
      "finish",
    ];
    expect(types.filter((t, i) => t !== types[i - 1])).toEqual(expectedOrder);

    const start = chunks[0] as Extract<UIMessageChunk, { type: "start" }>;
    expect(start.messageId).toMatch(/^[0-9a-f-]{36}$/);
    const toolInput = chunks.find((c) => c.type === "tool-input-available");
    expect(toolInput).toMatchObject({ toolName: "getWeather", input: { city: "Paris" } });
    const toolOutput = chunks.find((c) => c.type === "tool-output-available");
    expect(toolOutput).toMatchObject({ output: { city: "Paris", condition: "sunny", temperatureC: 21 } });
    const answerDeltas = chunks.slice(types.lastIndexOf("start-step")).filter((c) => c.type === "text-delta");
    expect(answerDeltas.length).toBeGreaterThan(2);

    const finish = chunks.at(-1) as Extract<UIMessageChunk, { type: "finish" }>;
    expect(finish.finishReason).toBe("stop");
    expect(finish.messageMetadata).toEqual({
      usage: {
        inputTokens: 100,
        outputTokens: 44,
        totalTokens: 144,
        reasoningTokens: 12,
        cachedInputTokens: 16,
        model: "chat-model",
      },
      finishReason: "stop",
      model: "chat-model",
    });

    const message = await assemble(chunks);
    expect(message.id).toBe(start.messageId);
    expect(message.role).toBe("assistant");
    expect(message.parts.map((p) => p.type)).toEqual([
      "step-start",
      "reasoning",
      "text",
      "tool-getWeather",
      "step-start",
      "text",
    ]);
    expect(message.parts[3]).toMatchObject({ state: "output-available", toolCallId: "call_mock_1" });
    expect(textOf(message)).toContain('You said: "What is the weather in Paris?".');
    expect(textOf(message)).toContain("The weather in Paris is sunny at 21°C.");
  });

  it("continues a chat from stored messages, including the previous turn's tool call", async () => {
    const first = userMessage("Hello in Rome");
    const previous = await assemble(await readChunks(await post(streamer.url, requestBody("", { message: first }))));
    const response = await post(streamer.url, requestBody("And now?", { existingMessages: [first, previous] }));
    const message = await assemble(await readChunks(response));
    expect(message.parts.find((p) => p.type === "tool-getWeather")).toMatchObject({ toolCallId: "call_mock_2" });
    expect(textOf(message)).toContain('You said: "And now?".');
  });

  it("answers in one step for [plain] and reports an error mid-stream for [error]", async () => {
    const plain = await readChunks(await post(streamer.url, requestBody("[plain] hi")));
    expect(plain.filter((c) => c.type === "start-step")).toHaveLength(1);
    expect(plain.some((c) => c.type.startsWith("tool-") || c.type.startsWith("reasoning-"))).toBe(false);

    const failed = await readChunks(await post(streamer.url, requestBody("[error] hi")));
    const types = failed.map((c) => c.type);
    expect(types.indexOf("error")).toBeGreaterThan(types.lastIndexOf("text-delta"));
    expect(failed.find((c) => c.type === "error")).toMatchObject({ errorText: expect.stringContaining("mock") });
    expect(failed.at(-1)).toMatchObject({ type: "finish", finishReason: "error" });
  });

  it("cancels the model when the client disconnects mid-stream", async () => {
    const before = { ...mockModelActivity };
    const controller = new AbortController();
    const response = await post(streamer.url, requestBody("[slow] tell me everything"), {
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let received = "";
    // Wait for the long answer (the mock's second text block) to be under way.
    while (!received.includes('"type":"text-delta","id":"text-2"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended before the answer started");
      received += new TextDecoder().decode(value);
    }
    controller.abort();

    const deadline = Date.now() + 2_000;
    while (mockModelActivity.cancelled === before.cancelled && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(mockModelActivity.cancelled).toBe(before.cancelled + 1);
    // Step 1 ran to its end; the long answer did not.
    expect(mockModelActivity.completed).toBe(before.completed + 1);
  });

  it.each([
    ["no token", null],
    ["a malformed token", "not-a-jwt"],
    ["a token signed with another secret", "other-secret"],
    ["an expired token", "expired"],
    ["a token for another audience", "wrong-aud"],
  ])("refuses %s with 401 and calls no model", async (_name, kind) => {
    const claims = { chatId: "chat-1" };
    const key = new TextEncoder().encode(SECRET);
    const now = Math.floor(Date.now() / 1000);
    const tokens: Record<string, Promise<string> | string | null> = {
      null: null,
      "not-a-jwt": "not-a-jwt",
      "other-secret": signInternalToken(`${SECRET}-other`, { userId: "user-1", chatId: "chat-1" }),
      expired: new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("chat-gateway")
        .setAudience("chat-streamer")
        .setSubject("user-1")
        .setIssuedAt(now - 120)
        .setExpirationTime(now - 60)
        .sign(key),
      "wrong-aud": new SignJWT(claims)
        .setProtectedHeader({ alg: "HS256" })
        .setIssuer("chat-gateway")
        .setAudience("someone-else")
        .setSubject("user-1")
        .setIssuedAt()
        .setExpirationTime("60s")
        .sign(key),
    };
    const callsBefore = mockModelActivity.calls;
    const response = await post(streamer.url, requestBody("hi"), { token: await tokens[String(kind)] });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: "unauthorized:chat" });
    expect(mockModelActivity.calls).toBe(callsBefore);
  });

  it("refuses a token issued for another chat with 403", async () => {
    const response = await post(streamer.url, requestBody("hi"), { chatId: "chat-2" });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ code: "forbidden:chat" });
  });

  it.each([
    ["a body that is not JSON", "{nope"],
    ["a missing message", { ...requestBody("hi"), message: undefined }],
    ["an assistant message", requestBody("hi", { message: { id: "m", role: "assistant", parts: [] } })],
    ["an unknown visibility", requestBody("hi", { selectedVisibilityType: "friends" })],
    ["a missing model", requestBody("hi", { selectedChatModel: undefined })],
    ["existing messages that are not a list", requestBody("hi", { existingMessages: {} })],
    ["a text part without text", requestBody("hi", { message: { id: "m", role: "user", parts: [{ type: "text" }] } })],
  ])("refuses %s with 400 and calls no model", async (_name, body) => {
    const callsBefore = mockModelActivity.calls;
    const response = await post(streamer.url, body);
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: "bad_request:api", message: expect.any(String) });
    expect(mockModelActivity.calls).toBe(callsBefore);
  });

  it("serves /health and nothing else", async () => {
    expect((await fetch(`${streamer.url}/health`)).status).toBe(200);
    expect((await fetch(`${streamer.url}/elsewhere`)).status).toBe(404);
    expect((await fetch(`${streamer.url}/api/chat/stream`)).status).toBe(405);
  });

  it("keeps idle connections for 30 s, so a pooling proxy that reads a response late can still reuse them", async () => {
    const headers = await keepAliveResponseHeaders(`${streamer.url}/health`);
    expect(headers.connection).toBe("keep-alive");
    expect(headers["keep-alive"]).toBe("timeout=30");
  });
});

describe("streamChatTurn (direct mode)", () => {
  it("produces the same UI message stream in-process", async () => {
    const chunks = await collect(
      streamChatTurn({
        env,
        chatId: "chat-1",
        message: userMessage("direct"),
        existingMessages: [],
        selectedChatModel: "chat-model",
      }),
    );
    expect(chunks[0]).toMatchObject({ type: "start", messageId: expect.any(String) });
    expect(chunks.at(-1)).toMatchObject({ type: "finish", finishReason: "stop" });
    expect(textOf(await assemble(chunks))).toContain('You said: "direct".');
  });

  it("ends with an abort chunk when its signal fires", async () => {
    const controller = new AbortController();
    const stream = streamChatTurn({
      env,
      chatId: "chat-1",
      message: userMessage("[slow] direct"),
      existingMessages: [],
      selectedChatModel: "chat-model",
      signal: controller.signal,
    });
    let deltas = 0;
    const chunks = await collect(stream, (chunk) => {
      if (chunk.type === "text-delta" && ++deltas === 10) controller.abort();
    });
    expect(chunks.at(-1)?.type).toBe("abort");
    expect(chunks.some((c) => c.type === "finish")).toBe(false);
  });

  it("holds a [hang] turn open after start-step until aborted", async () => {
    const controller = new AbortController();
    const cancelledBefore = mockModelActivity.cancelled;
    const started = Date.now();
    setTimeout(() => controller.abort(), 200);
    const chunks = await collect(
      streamChatTurn({
        env,
        chatId: "chat-1",
        message: userMessage("[hang]"),
        existingMessages: [],
        selectedChatModel: "chat-model",
        signal: controller.signal,
      }),
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
    expect(chunks.map((c) => c.type)).toEqual(["start", "start-step", "abort"]);
    expect(mockModelActivity.cancelled).toBe(cancelledBefore + 1);
  });
});

describe("built-in streamer with OPENAI_API_KEY", () => {
  let fake: Server;
  let fakeUrl: string;
  let openaiStreamer: RunningStreamer;
  const requests: { path: string; authorization?: string; body: any }[] = [];

  beforeAll(async () => {
    fake = createServer(async (req, res) => {
      const body = JSON.parse(await readBody(req));
      requests.push({ path: req.url ?? "", authorization: req.headers.authorization, body });
      if (req.method !== "POST" || !req.url?.endsWith("/chat/completions")) {
        res.writeHead(404).end();
        return;
      }
      const lastUser = [...body.messages].reverse().find((m: any) => m.role === "user");
      const userText = typeof lastUser.content === "string" ? lastUser.content : lastUser.content[0].text;
      const base = { id: "chatcmpl-fake", object: "chat.completion.chunk", created: 1, model: "gpt-4o-mini-fake" };
      const events = [
        { ...base, choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: { content: "Fake says: " }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: { content: userText }, finish_reason: null }] },
        { ...base, choices: [{ index: 0, delta: {}, finish_reason: "stop" }] },
        {
          ...base,
          choices: [],
          usage: {
            prompt_tokens: 11,
            completion_tokens: 5,
            total_tokens: 16,
            prompt_tokens_details: { cached_tokens: 3 },
            completion_tokens_details: { reasoning_tokens: 2 },
          },
        },
      ];
      res.writeHead(200, { "content-type": "text/event-stream" });
      for (const event of events) res.write(`data: ${JSON.stringify(event)}\n\n`);
      res.end("data: [DONE]\n\n");
    });
    await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
    fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}/v1`;
    openaiStreamer = await startStreamer({ ...env, OPENAI_API_KEY: "test", OPENAI_BASE_URL: fakeUrl });
  });
  afterAll(async () => {
    await openaiStreamer.close();
    await new Promise((resolve) => fake.close(resolve));
  });

  it("streams the provider's text and reports its usage in the finish metadata", async () => {
    const callsBefore = mockModelActivity.calls;
    const response = await post(openaiStreamer.url, requestBody("ping over the wire"));
    expect(response.status).toBe(200);
    const chunks = await readChunks(response);
    const message = await assemble(chunks);
    expect(textOf(message)).toBe("Fake says: ping over the wire");
    expect(chunks.at(-1)).toEqual({
      type: "finish",
      finishReason: "stop",
      messageMetadata: {
        usage: {
          inputTokens: 11,
          outputTokens: 5,
          totalTokens: 16,
          reasoningTokens: 2,
          cachedInputTokens: 3,
          model: "gpt-4o-mini",
        },
        finishReason: "stop",
        model: "gpt-4o-mini",
      },
    });

    expect(mockModelActivity.calls).toBe(callsBefore);
    expect(requests).toHaveLength(1);
    expect(requests[0].path).toBe("/v1/chat/completions");
    expect(requests[0].authorization).toBe("Bearer test");
    expect(requests[0].body).toMatchObject({ model: "gpt-4o-mini", stream: true });
    expect(requests[0].body.tools.map((t: any) => t.function.name)).toEqual(["getWeather"]);
  });
});

async function readBody(req: IncomingMessage): Promise<string> {
  let text = "";
  for await (const chunk of req) text += chunk;
  return text;
}
