import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP proxy on loopback in front of a server (Redis here) that a test can
 * take down: every connection dropped and new ones refused until it is up again.
 */
export interface OutageProxy {
  url: string;
  /** Drops every connection and refuses new ones, as a Redis that went away. */
  down(): void;
  /** Keeps every connection open but forwards nothing, as a partition does; `up` then drops them. */
  stall(): void;
  up(): void;
  close(): Promise<void>;
}

export async function startOutageProxy(url: string): Promise<OutageProxy> {
  const target = new URL(url);
  let down = false;
  let stalled = false;
  const sockets = new Set<Socket>();
  const pairs = new Set<[Socket, Socket]>();
  const server = createServer((client) => {
    if (down) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: target.hostname, port: Number(target.port || 6379) });
    sockets.add(client).add(upstream);
    const gone = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", gone).on("close", gone);
    upstream.on("error", gone).on("close", gone);
    client.pipe(upstream);
    upstream.pipe(client);
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    client.on("close", () => pairs.delete(pair));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no TCP address");
  const proxied = new URL(url);
  proxied.hostname = "127.0.0.1";
  proxied.port = String(address.port);
  return {
    url: proxied.toString(),
    down() {
      down = true;
      for (const socket of sockets) socket.destroy();
    },
    stall() {
      stalled = true;
      for (const [client, upstream] of pairs) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    },
    up() {
      down = false;
      if (stalled) for (const socket of sockets) socket.destroy();
      stalled = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
