import { createConnection, createServer, type Socket } from "node:net";

/**
 * A TCP proxy on loopback in front of a server (PostgreSQL here) that a test
 * can stall: while paused it accepts connections and keeps every socket open
 * but forwards nothing, not even a close, as a network that stops delivering
 * packets would. Resumed, it delivers what it held, in order.
 */
export interface StallProxy {
  /** A connection string of the proxied server with its host and port replaced by the proxy's. */
  via(url: string): string;
  pause(): void;
  resume(): void;
  close(): Promise<void>;
}

type Held = Buffer | "end";

export async function startStallProxy(url: string): Promise<StallProxy> {
  const target = new URL(url);
  let paused = false;
  const sockets = new Set<Socket>();
  const flushes = new Set<() => void>();

  // allowHalfOpen: a client's close is held back like its data.
  const server = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = createConnection({
      host: target.hostname,
      port: Number(target.port || 5432),
      allowHalfOpen: true,
    });
    sockets.add(client).add(upstream);
    const flushClient = relay(client, upstream);
    const flushUpstream = relay(upstream, client);
    const flush = () => {
      flushClient();
      flushUpstream();
    };
    flushes.add(flush);
    const gone = () => {
      flushes.delete(flush);
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on("error", gone).on("close", () => (paused ? undefined : gone()));
    upstream.on("error", gone).on("close", () => (paused ? undefined : gone()));
  });

  /** Forwards from → to, holding everything (data and end) while paused; returns the flush. */
  function relay(from: Socket, to: Socket): () => void {
    const held: Held[] = [];
    const deliver = (item: Held) => {
      if (to.destroyed) return;
      if (item === "end") to.end();
      else to.write(item);
    };
    from.on("data", (chunk) => (paused || held.length > 0 ? held.push(chunk) : deliver(chunk)));
    from.on("end", () => (paused || held.length > 0 ? held.push("end") : deliver("end")));
    // A socket destroyed while paused (its peer timed out) is closed on resume, as a late RST would.
    from.on("close", () => held.push("end"));
    return () => {
      for (const item of held.splice(0)) deliver(item);
      if (from.destroyed && !to.destroyed) to.destroy();
    };
  }

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the stall proxy has no TCP address");
  const port = String(address.port);

  return {
    via(url) {
      const proxied = new URL(url);
      proxied.hostname = "127.0.0.1";
      proxied.port = port;
      return proxied.toString();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      for (const flush of [...flushes]) flush();
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
