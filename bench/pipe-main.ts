// Bench child: the baseline proxy. A minimal node:http server that pipes each
// request to the streamer and the response back, bytes only (no parsing), on a
// keep-alive agent as the gateway uses. BENCH_UPSTREAM_URL is the streamer.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { serveParent } from "./child.ts";

const upstream = new URL(process.env.BENCH_UPSTREAM_URL ?? "");
if (upstream.hostname !== "127.0.0.1") throw new Error("BENCH_UPSTREAM_URL must be a 127.0.0.1 URL");
// noDelay reaches net.connect through the agent (AgentOptions' type omits it).
// Idle sockets are dropped after 4 s, before node:http servers' 5 s keep-alive
// timeout, so a request never goes out on a socket the server is closing.
const agentOptions: http.AgentOptions & { noDelay: boolean } = {
  keepAlive: true,
  maxSockets: Infinity,
  noDelay: true,
  timeout: 4_000,
};
const agent = new http.Agent(agentOptions);
const hopByHop = new Set(["connection", "keep-alive", "proxy-connection", "upgrade", "te", "trailer"]);

function forwardable(headers: http.IncomingHttpHeaders): http.OutgoingHttpHeaders {
  const result: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!hopByHop.has(name) && value !== undefined) result[name] = value;
  return result;
}

const server = http.createServer({ noDelay: true }, (req, res) => {
  const upstreamRequest = http.request(
    {
      host: upstream.hostname,
      port: upstream.port,
      method: req.method,
      path: req.url,
      headers: { ...forwardable(req.headers), host: upstream.host },
      agent,
    },
    (upstreamResponse) => {
      res.writeHead(upstreamResponse.statusCode ?? 502, forwardable(upstreamResponse.headers));
      upstreamResponse.pipe(res);
      upstreamResponse.on("error", () => res.destroy());
    },
  );
  upstreamRequest.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  // The client went away before the answer ended: stop the upstream stream too.
  res.on("close", () => {
    if (!res.writableFinished) upstreamRequest.destroy();
  });
  req.pipe(upstreamRequest);
});

await new Promise<void>((resolve, reject) => {
  server.once("error", reject);
  server.listen(0, "127.0.0.1", () => resolve());
});

serveParent(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, {
  async close() {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    agent.destroy();
  },
});
