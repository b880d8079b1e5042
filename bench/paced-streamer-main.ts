// Bench child: a lean paced streamer for bench/capacity.ts. It answers
// POST /api/chat/stream with the same UI message stream bytes the built-in
// streamer sends for `[long:N] [stamp]` (start, start-step, text-start, N
// stamped text-deltas, text-end, finish-step, finish with usage, [DONE]), one
// delta every MOCK_DELTA_DELAY_MS, written straight to the socket. The built-in
// streamer runs the AI SDK's streamText per turn and costs more CPU per delta
// than the gateway itself; on a 2-core machine that starved the processes
// measured. BENCH_STREAMER=builtin brings it back.
import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveParent } from "./child.ts";

const delayMs = Number(process.env.MOCK_DELTA_DELAY_MS ?? "100");
const usage = { inputTokens: 60, outputTokens: 20, totalTokens: 80, reasoningTokens: 0, cachedInputTokens: 8 };
const line = (chunk: unknown) => `data: ${JSON.stringify(chunk)}\n\n`;
const now = () => (Number(process.hrtime.bigint()) / 1e6).toFixed(3);

function readBody(request: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    request.on("data", (part: Buffer) => parts.push(part));
    request.on("end", () => resolve(Buffer.concat(parts).toString("utf8")));
    request.on("error", reject);
  });
}

async function answer(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
  if (request.method !== "POST" || request.url !== "/api/chat/stream") {
    response.writeHead(404).end();
    return;
  }
  const body = JSON.parse(await readBody(request)) as {
    message: { parts: { type: string; text?: string }[] };
    selectedChatModel?: string;
  };
  const text = body.message.parts.map((part) => part.text ?? "").join(" ");
  const count = Number(/\[long:(\d+)\]/.exec(text)?.[1] ?? "1");
  const stamped = text.includes("[stamp]");
  const model = body.selectedChatModel ?? "chat-model";
  response.writeHead(200, {
    "content-type": "text/event-stream",
    "cache-control": "no-cache",
    "x-accel-buffering": "no",
    "x-vercel-ai-ui-message-stream": "v1",
  });
  const id = "text-2";
  response.write(
    line({ type: "start", messageId: randomUUID() }) + line({ type: "start-step" }) + line({ type: "text-start", id }),
  );
  let sent = 0;
  let timer: NodeJS.Timeout | null = null;
  const next = () => {
    if (response.destroyed) return;
    if (sent < count) {
      sent++;
      response.write(line({ type: "text-delta", id, delta: stamped ? ` @${now()}` : ` word${sent}` }));
      timer = setTimeout(next, delayMs);
      return;
    }
    response.end(
      line({ type: "text-end", id }) +
        line({ type: "finish-step" }) +
        line({
          type: "finish",
          finishReason: "stop",
          messageMetadata: { usage: { ...usage, model }, finishReason: "stop", model },
        }) +
        "data: [DONE]\n\n",
    );
  };
  response.on("close", () => {
    if (timer) clearTimeout(timer);
  });
  timer = setTimeout(next, delayMs);
}

const server = http.createServer({ noDelay: true }, (request, response) => {
  answer(request, response).catch(() => {
    if (!response.headersSent) response.writeHead(400);
    response.end();
  });
});
// Longer than the gateway's and the pipe's idle sockets, so a reused socket is never closed under them.
server.keepAliveTimeout = 30_000;
server.headersTimeout = 31_000;
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const { port } = server.address() as AddressInfo;

serveParent(`http://127.0.0.1:${port}`, {
  close: () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
});
