import { createServer, type IncomingMessage, type RequestListener, type Server, type ServerResponse } from "node:http";
import { ReasonedResponse } from "./status-reason.ts";

/**
 * Wraps a request listener so that a response's writes made in one turn of
 * the event loop leave in one syscall: a streaming turn writes one SSE event
 * per delta, and one upstream read often yields many deltas. The first write
 * of a turn corks the socket (below HTTP framing); the end of the turn uncorks it.
 */
export function coalesceWrites(listener: RequestListener): RequestListener {
  return (request: IncomingMessage, response: ServerResponse) => {
    const write = response.write;
    let corked: NonNullable<ServerResponse["socket"]> | null = null;
    const flush = () => {
      corked?.uncork();
      corked = null;
    };
    response.write = function (this: ServerResponse, ...args: Parameters<ServerResponse["write"]>) {
      const socket = response.socket;
      if (!corked && socket && response.headersSent) {
        corked = socket;
        socket.cork();
        // Speed only: every write of this turn of the event loop leaves in one syscall.
        setImmediate(flush);
      }
      return write.apply(this, args);
    } as ServerResponse["write"];
    listener(request, response);
  };
}

/**
 * The gateway's HTTP server around a request listener (Yoga), keeping idle
 * connections `keepAliveMs` (see KEEP_ALIVE_TIMEOUT_MS).
 */
export function createGatewayServer(listener: RequestListener, { keepAliveMs }: { keepAliveMs: number }): Server {
  const server = createServer({ ServerResponse: ReasonedResponse }, coalesceWrites(listener));
  server.keepAliveTimeout = keepAliveMs;
  // Above the idle wait, or a reused connection's next request can be judged
  // late for its headers (nodejs/node#27363).
  server.headersTimeout = Math.max(server.headersTimeout, keepAliveMs + 1_000);
  return server;
}
