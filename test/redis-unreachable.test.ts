// Requests that need Redis while it does not answer: resumeStream from
// another instance is refused with offline:chat (try again), not masked as an
// unexpected error, and served again once Redis is back; stopStream reaches the
// turn all the same (through the database). Redis only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeGateway, failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { startOutageProxy, type OutageProxy } from "./support/outage-proxy.ts";
import { eventually, RESUME_STREAM, sendInput, STOP_STREAM, subscribeWithFetch } from "./support/sse.ts";

failOnUnhandledRejections();

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("Redis not answering", () => {
  let proxy: OutageProxy;
  let gateway: TestGateway;
  let other: TestGateway;
  beforeAll(async () => {
    proxy = await startOutageProxy(redisUrl!);
    gateway = await startTestGateway({ REDIS_URL: proxy.url });
    other = await startTestGateway({ REDIS_URL: proxy.url }, { database: gateway.database });
  });
  afterAll(async () => {
    proxy?.up();
    await other?.close();
    await closeGateway(gateway);
    await proxy?.close();
  });

  it("resumeStream from another instance is offline:chat, retryable, until Redis is back; stopStream reaches the turn all the same", async () => {
    const token = await gateway.tokenFor({ id: "redis-unreachable-user" });
    // [hang]: the turn holds after its first step until it is stopped, however long the outage lasts.
    const variables = sendInput("[hang] Tell me a long story.");
    const { chatId } = variables.input;
    let reached!: () => void;
    const running = new Promise<void>((resolve) => (reached = resolve));
    const sender = subscribeWithFetch(gateway.url, variables, {
      token,
      onEvent: (event) => {
        if (event.__typename === "StepStarted") reached();
      },
    });
    await running;

    proxy.down();
    try {
      // From another instance: the turn's events come through Redis.
      const resumed = await subscribeWithFetch(
        other.url,
        { chatId, afterSeq: null },
        { token, query: RESUME_STREAM, signal: AbortSignal.timeout(20_000) },
      );
      expect(resumed.results.flatMap((result) => result.errors ?? [])[0]).toMatchObject({
        message: expect.stringMatching(/try again/i),
        extensions: { code: "offline:chat", retryable: true },
      });
      // The stop is asked for on the turn's row, which its owner reads when it renews its lease.
      const stopped = await other.gql(STOP_STREAM, { chatId }, token);
      expect(stopped).toEqual({ data: { stopStream: true } });
      const events = (await sender).events;
      expect(events.at(-1)?.__typename).toBe("StreamAborted");
    } finally {
      proxy.up();
    }
    // Once Redis is back, a resumer on the other instance gets the whole turn, up to its end.
    const sent = (await sender).events.map((event) => event.__typename);
    await eventually(async () => {
      const again = await subscribeWithFetch(
        other.url,
        { chatId, afterSeq: null },
        { token, query: RESUME_STREAM, signal: AbortSignal.timeout(5_000) },
      );
      return again.events.at(-1)?.__typename === "StreamAborted" && again.events.length === sent.length;
    }, 20_000);
  }, 60_000);
});
