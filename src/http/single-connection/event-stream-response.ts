import { log } from "../../log.ts";
import type { HeldStream } from "./event-streams.ts";

// graphql-sse's handler and Yoga ping every 12 s; proxies close idle connections.
const PING_MS = 12_000;
const PING = ":\n\n";

/**
 * The GET's answer: the stream's frames as they come, a ping when idle, and
 * the stream closed (its operations stopped) when the client goes away.
 */
export function eventStreamResponse(held: HeldStream): Response {
  const encoder = new TextEncoder();
  const frames = held.frames[Symbol.asyncIterator]();
  let ping: NodeJS.Timeout | undefined;
  const end = async () => {
    clearInterval(ping);
    await held.close();
    await frames.return?.();
  };
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      // Sent at once: some browsers hold the response back until a first byte.
      controller.enqueue(encoder.encode(PING));
      ping = setInterval(() => {
        if ((controller.desiredSize ?? 0) > 0) controller.enqueue(encoder.encode(PING));
      }, PING_MS);
    },
    async pull(controller) {
      try {
        const next = await frames.next();
        if (!next.done) return controller.enqueue(encoder.encode(next.value.join("")));
      } catch (error) {
        log.warn("event stream failed; closing it", { error });
      }
      await end();
      controller.close();
    },
    cancel: end,
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "content-encoding": "none",
    },
  });
}
