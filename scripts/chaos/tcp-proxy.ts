import { createConnection, createServer, type Server, type Socket } from "node:net";

/**
 * A loopback TCP proxy that can refuse: `refuse()` resets every connection and
 * stops listening (new connections are refused, as with a server that went
 * down); `restore()` listens again on the same port.
 */
export interface RefusingProxy {
  via(url: string): string;
  refuse(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startRefusingProxy(url: string): Promise<RefusingProxy> {
  const target = new URL(url);
  const sockets = new Set<Socket>();
  let port = 0;
  let server: Server | undefined;
  const listen = async () => {
    if (server) return;
    server = createServer((client) => {
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
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
    });
    await new Promise<void>((resolve, reject) => server!.once("error", reject).listen(port, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  };
  const stop = async () => {
    const closing = server;
    server = undefined;
    if (!closing) return;
    const closed = new Promise<void>((resolve) => closing.close(() => resolve()));
    for (const socket of sockets) socket.resetAndDestroy();
    await closed;
  };
  await listen();
  return {
    via(original) {
      const proxied = new URL(original);
      proxied.hostname = "127.0.0.1";
      proxied.port = String(port);
      return proxied.toString();
    },
    refuse: stop,
    restore: listen,
    close: stop,
  };
}
