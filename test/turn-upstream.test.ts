import { once } from "node:events";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { createUIMessageStream, JsonToSseTransformStream, UI_MESSAGE_STREAM_HEADERS, type UIMessageChunk } from "ai";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { assembleMessage } from "../src/turn/assemble.ts";
import { createChunkMapper } from "../src/turn/chunk-events.ts";
import { readChunks } from "../src/turn/chunk-stream.ts";
import type { ChunkEventDraft } from "../src/turn/events.ts";
import { closeUpstreamAgents, openUpstream } from "../src/turn/upstream.ts";
import { upstreamFailure } from "./support/upstream-body.ts";

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let baseUrl: string;
let handler: Handler;
const requests: { headers: IncomingMessage["headers"]; body: string; remotePort: number | undefined }[] = [];
const closedEarly: string[] = [];

beforeAll(async () => {
  server = createServer(async (req, res) => {
    let body = "";
    for await (const piece of req) body += piece;
    requests.push({ headers: req.headers, body, remotePort: req.socket.remotePort });
    res.on("close", () => {
      if (!res.writableFinished) closedEarly.push(req.url ?? "");
    });
    handler(req, res, body);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(() => {
  requests.length = 0;
  closedEarly.length = 0;
});

afterAll(async () => {
  await closeUpstreamAgents();
  server.closeAllConnections();
  server.close();
});

function writeSse(res: ServerResponse, chunks: UIMessageChunk[]) {
  res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
  const sse = createUIMessageStream({
    execute({ writer }) {
      for (const chunk of chunks) writer.write(chunk);
    },
  })
    .pipeThrough(new JsonToSseTransformStream())
    .pipeThrough(new TextEncoderStream());
  Readable.fromWeb(sse as never).pipe(res);
}

function sseLine(chunk: UIMessageChunk): string {
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

const turnBody = { id: "chat-1", message: { id: "u1", role: "user", parts: [{ type: "text", text: "Weather?" }] } };

describe("openUpstream", () => {
  it("posts the turn and streams the answer through parse, map and assembly", async () => {
    handler = (_req, res) =>
      writeSse(res, [
        { type: "start", messageId: "streamer-msg" },
        { type: "start-step" },
        { type: "text-start", id: "t" },
        { type: "text-delta", id: "t", delta: "Sunny" },
        { type: "text-end", id: "t" },
        { type: "finish-step" },
        { type: "finish", finishReason: "stop", messageMetadata: { usage: { inputTokens: 9, outputTokens: 1 } } },
      ]);
    const body = await openUpstream({ url: `${baseUrl}/api/chat/stream`, body: turnBody, token: "internal-jwt" });
    const mapper = createChunkMapper();
    const events: ChunkEventDraft[] = [];
    const buffered: UIMessageChunk[] = [];
    for await (const chunk of readChunks(body, { idleTimeoutMs: 1000 })) {
      buffered.push(chunk);
      events.push(...mapper.map(chunk));
    }

    expect(requests).toHaveLength(1);
    expect(requests[0].headers).toMatchObject({
      authorization: "Bearer internal-jwt",
      "content-type": "application/json",
      accept: "text/event-stream",
    });
    expect(JSON.parse(requests[0].body)).toEqual(turnBody);
    expect(events).toEqual([
      { __typename: "StepStarted" },
      { __typename: "TextDelta", partId: "t", delta: "Sunny" },
      { __typename: "StepFinished" },
    ]);
    expect(mapper.report).toMatchObject({ ended: "finish", finishReason: "stop" });
    expect(mapper.usage("gpt-default")).toEqual({
      inputTokens: 9,
      outputTokens: 1,
      totalTokens: null,
      reasoningTokens: null,
      cachedInputTokens: null,
      model: "gpt-default",
    });
    const message = await assembleMessage(buffered, { messageId: "gateway-msg" });
    expect(message).toMatchObject({
      id: "gateway-msg",
      role: "assistant",
      parts: [{ type: "step-start" }, { type: "text", text: "Sunny", state: "done" }],
    });
  });

  it("reuses the keep-alive connection", async () => {
    handler = (_req, res) => writeSse(res, [{ type: "finish" }]);
    for (let i = 0; i < 2; i++) {
      // undici pools the socket again just after the body ends
      await new Promise((resolve) => setTimeout(resolve, 10));
      const body = await openUpstream({ url: `${baseUrl}/a`, body: {}, token: "t" });
      for await (const _ of readChunks(body, { idleTimeoutMs: 1000 }));
    }
    expect(requests.map((request) => request.remotePort)).toEqual([requests[0].remotePort, requests[0].remotePort]);
  });

  it("reports an ended stream without finish", async () => {
    handler = (_req, res) => {
      res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
      res.end(sseLine({ type: "start" }) + sseLine({ type: "text-start", id: "t" }));
    };
    const mapper = createChunkMapper();
    const body = await openUpstream({ url: `${baseUrl}/a`, body: {}, token: "t" });
    for await (const chunk of readChunks(body, { idleTimeoutMs: 1000 })) mapper.map(chunk);
    expect(mapper.report.ended).toBeNull();
  });

  it("fails as offline when nothing listens", async () => {
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const { port } = probe.address() as AddressInfo;
    probe.close();
    await once(probe, "close");
    const error = await upstreamFailure(
      openUpstream({ url: `http://127.0.0.1:${port}/api/chat/stream`, body: {}, token: "t" }),
    );
    expect(error).toMatchObject({ code: "offline:chat", kind: "unreachable", status: null });
    expect(error.message).toBe(
      `streamer at http://127.0.0.1:${port} unreachable: connect ECONNREFUSED 127.0.0.1:${port}`,
    );
  });

  it.each([
    [500, "offline:chat"],
    [502, "offline:chat"],
    [401, "offline:chat"],
    [403, "offline:chat"],
    [404, "offline:chat"],
    [400, "bad_request:api"],
    [413, "bad_request:api"],
    [429, "rate_limit:chat"],
  ] as const)("maps HTTP %i to %s with the status in the detail", async (status, code) => {
    handler = (_req, res) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "x:chat", message: "Streamer says no." }));
    };
    const error = await upstreamFailure(openUpstream({ url: `${baseUrl}/a`, body: {}, token: "t" }));
    expect(error).toMatchObject({ code, kind: "status", status });
    expect(error.message).toBe(`streamer answered HTTP ${status}: x:chat - Streamer says no.`);
  });

  it("quotes a plain-text error body", async () => {
    handler = (_req, res) => {
      res.writeHead(503);
      res.end("  upstream overloaded \n");
    };
    const error = await upstreamFailure(openUpstream({ url: `${baseUrl}/a`, body: {}, token: "t" }));
    expect(error.message).toBe("streamer answered HTTP 503: upstream overloaded");
  });

  it("gives up on an error body that never ends after the idle timeout, and hangs up", async () => {
    handler = (_req, res) => {
      res.writeHead(500, { "content-type": "text/plain" });
      res.write("a stack trace, then nothing more");
    };
    const error = await upstreamFailure(
      openUpstream({ url: `${baseUrl}/endless-error`, body: {}, token: "t", idleTimeoutMs: 100 }),
    );
    expect(error).toMatchObject({ code: "offline:chat", kind: "status", status: 500 });
    expect(error.message).toBe("streamer answered HTTP 500: a stack trace, then nothing more");
    await vi.waitFor(() => expect(closedEarly).toEqual(["/endless-error"]));
  });

  it("refuses an answer that is not an event stream", async () => {
    handler = (_req, res) => {
      res.writeHead(200, { "content-type": "text/html" });
      res.end("<html></html>");
    };
    const error = await upstreamFailure(openUpstream({ url: `${baseUrl}/a`, body: {}, token: "t" }));
    expect(error).toMatchObject({ code: "offline:chat", kind: "not-a-stream", status: 200 });
  });

  it("times out when the streamer does not answer", async () => {
    handler = () => {};
    const error = await upstreamFailure(
      openUpstream({ url: `${baseUrl}/slow`, body: {}, token: "t", firstByteTimeoutMs: 100 }),
    );
    expect(error).toMatchObject({ code: "offline:chat", kind: "first-byte-timeout" });
    expect(error.message).toMatch(/did not answer within 100 ms/);
    await vi.waitFor(() => expect(closedEarly).toEqual(["/slow"]));
  });

  it("aborts before the answer, closing the request", async () => {
    handler = () => {};
    const controller = new AbortController();
    const opening = openUpstream({ url: `${baseUrl}/pending`, body: {}, token: "t", signal: controller.signal });
    await vi.waitFor(() => expect(requests).toHaveLength(1));
    controller.abort(new Error("user stopped"));
    await expect(opening).rejects.toThrow("user stopped");
    await vi.waitFor(() => expect(closedEarly).toEqual(["/pending"]));
  });

  it("aborts while streaming, closing the request", async () => {
    handler = (_req, res) => {
      res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
      res.write(sseLine({ type: "start" }));
    };
    const controller = new AbortController();
    const body = await openUpstream({ url: `${baseUrl}/streaming`, body: {}, token: "t", signal: controller.signal });
    const seen: UIMessageChunk[] = [];
    const reading = (async () => {
      for await (const chunk of readChunks(body, { idleTimeoutMs: 5000, signal: controller.signal })) {
        seen.push(chunk);
        controller.abort(new Error("user stopped"));
      }
    })();
    await expect(reading).rejects.toThrow("user stopped");
    expect(seen).toEqual([{ type: "start" }]);
    await vi.waitFor(() => expect(closedEarly).toEqual(["/streaming"]));
  });

  it("aborts an answer nobody reads, without unhandled rejections", async () => {
    handler = (_req, res) => {
      res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
      res.write(sseLine({ type: "start" }));
    };
    const controller = new AbortController();
    await openUpstream({ url: `${baseUrl}/unread`, body: {}, token: "t", signal: controller.signal });
    controller.abort();
    await vi.waitFor(() => expect(closedEarly).toEqual(["/unread"]));
  });

  it("closes the request when the idle timeout fires", async () => {
    handler = (_req, res) => {
      res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
      res.write(sseLine({ type: "start" }));
    };
    const body = await openUpstream({ url: `${baseUrl}/quiet`, body: {}, token: "t" });
    const error = await upstreamFailure(
      (async () => {
        for await (const _ of readChunks(body, { idleTimeoutMs: 50 }));
      })(),
    );
    expect(error.kind).toBe("idle-timeout");
    await vi.waitFor(() => expect(closedEarly).toEqual(["/quiet"]));
  });

  it("holds back a streamer that outpaces its reader, then delivers every chunk in order", async () => {
    const total = 4000;
    const line = (i: number) => sseLine({ type: "text-delta", id: "t", delta: `${i} ${"x".repeat(2000)}` });
    let written = 0;
    let heldBack = false;
    handler = (_req, res) => {
      res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
      const pump = () => {
        while (written < total) {
          if (!res.write(line(written++))) {
            heldBack = true;
            res.once("drain", pump);
            return;
          }
        }
        res.end(sseLine({ type: "finish" }));
      };
      pump();
    };
    const body = await openUpstream({ url: `${baseUrl}/flood`, body: {}, token: "t" });
    // Nobody reads yet: undici's body must pause rather than buffer all 8 MB.
    await vi.waitFor(() => expect(heldBack).toBe(true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(written).toBeLessThan(total);

    const deltas: string[] = [];
    for await (const chunk of readChunks(body, { idleTimeoutMs: 5000 })) {
      if (chunk.type === "text-delta") deltas.push(chunk.delta.split(" ")[0]);
    }
    expect(deltas).toEqual(Array.from({ length: total }, (_, i) => String(i)));
  });

  it("delivers every chunk of an answer whose pieces and end arrive in one read", async () => {
    const chunks: UIMessageChunk[] = [
      { type: "start" },
      { type: "start-step" },
      { type: "text-start", id: "t" },
      ...Array.from({ length: 20 }, (_, i): UIMessageChunk => ({ type: "text-delta", id: "t", delta: `${i} ` })),
      { type: "text-end", id: "t" },
      { type: "finish-step" },
      { type: "finish" },
    ];
    handler = (_req, res) => {
      // Written in one tick: node:http sends the chunks and the end in one segment.
      res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
      for (const chunk of chunks) res.write(sseLine(chunk));
      res.end("data: [DONE]\n\n");
    };
    const body = await openUpstream({ url: `${baseUrl}/burst`, body: {}, token: "t" });
    const received: UIMessageChunk[] = [];
    for await (const chunk of readChunks(body, { idleTimeoutMs: 5000 })) received.push(chunk);
    expect(received).toEqual(chunks);
  });

  it("reports a connection cut mid-stream", async () => {
    handler = (_req, res) => {
      res.writeHead(200, UI_MESSAGE_STREAM_HEADERS);
      res.write(sseLine({ type: "start" }));
      setTimeout(() => res.socket?.destroy(), 20);
    };
    const body = await openUpstream({ url: `${baseUrl}/cut`, body: {}, token: "t" });
    const error = await upstreamFailure(
      (async () => {
        for await (const _ of readChunks(body, { idleTimeoutMs: 1000 }));
      })(),
    );
    expect(error).toMatchObject({ code: "offline:chat", kind: "connection-lost" });
    expect(error.message).toMatch(/^connection to the streamer was lost: /);
  });
});
