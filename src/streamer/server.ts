import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { createServerAdapter } from "@whatwg-node/server";
import { ReasonedResponse } from "../http/status-reason.ts";
import { handleChatStream, type ChatStreamEnv } from "./route.ts";

const KEEP_ALIVE_MS = 30_000;

export type RunningStreamer = { url: string; close(): Promise<void> };

export async function startStreamer(
  env: ChatStreamEnv,
  options: { port?: number; host?: string } = {},
): Promise<RunningStreamer> {
  const chatStream = handleChatStream(env);
  const adapter = createServerAdapter(async (request: Request): Promise<Response> => {
    const { pathname } = new URL(request.url);
    if (pathname === "/api/chat/stream") {
      return request.method === "POST"
        ? chatStream(request)
        : Response.json({ code: "bad_request:api", message: "Use POST." }, { status: 405, headers: { allow: "POST" } });
    }
    if (pathname === "/health" && request.method === "GET") return Response.json({ status: "ok" });
    return Response.json({ code: "not_found:api", message: "Not found." }, { status: 404 });
  });

  const server = createServer({ ServerResponse: ReasonedResponse }, adapter);
  // Its client is a proxy that pools connections (the gateway). With Node's 5 s
  // default, a response the proxy reads late, under load, ends on a socket the
  // server has already closed, and the proxy's next request on it is reset
  // (seen with 500 concurrent streams through the bench's plain pipe).
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  const host = options.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    // `exclusive` on a free port: under node:cluster, workers listening on port 0
    // would otherwise share one port, and a worker shutting down would cut the
    // turns of other workers its streamer happened to serve.
    const port = options.port ?? 0;
    server.listen({ port, host, exclusive: port === 0 }, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host === "0.0.0.0" || host === "::" ? "127.0.0.1" : host.includes(":") ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Open SSE responses would otherwise keep close() waiting for them to end.
      server.closeAllConnections();
      await closed;
      await adapter.dispose();
    },
  };
}
