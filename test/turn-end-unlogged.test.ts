// A turn whose owner ended it while Redis was unreachable from it, then stopped
// before reaching Redis again: its terminal event never reached the shared log, so a
// resumer on another instance had nothing to end on. The other instance's
// sweep writes the terminal from what the database stored, and the resumer
// ends with it. Redis only (two in-process gateways, one database).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeGateway, failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { startOutageProxy, type OutageProxy } from "./support/outage-proxy.ts";
import { RESUME_STREAM, sendInput, subscribeWithFetch, type StreamEvent } from "./support/sse.ts";

failOnUnhandledRejections();

const redisUrl = process.env.REDIS_URL;

describe.skipIf(!redisUrl)("a turn whose end never reached Redis", () => {
  let proxy: OutageProxy;
  let owner: TestGateway;
  let other: TestGateway;
  let ownerClosed = false;
  beforeAll(async () => {
    proxy = await startOutageProxy(redisUrl!);
    other = await startTestGateway({ REDIS_URL: redisUrl!, TURN_LEASE_SECONDS: "3" });
    owner = await startTestGateway({ REDIS_URL: proxy.url }, { database: other.database });
  });
  afterAll(async () => {
    if (!ownerClosed) await owner?.close();
    await closeGateway(other);
    await proxy?.close();
  });

  it("ends a resumer on another instance with the stored outcome once the owner is gone", async () => {
    const token = await owner.tokenFor({ id: "unlogged-end-user" });
    const variables = sendInput("[slow] Tell me a long story.");
    const { chatId } = variables.input;
    let deltas = 0;
    let reached!: () => void;
    const reachedDeltas = new Promise<void>((resolve) => (reached = resolve));
    const sender = subscribeWithFetch(owner.url, variables, {
      token,
      onEvent: (event) => {
        if (event.__typename === "TextDelta" && ++deltas === 3) reached();
      },
    });
    await reachedDeltas;

    const resumed: StreamEvent[] = [];
    let resumedDeltas = 0;
    let resumerCaughtUp!: () => void;
    const caughtUp = new Promise<void>((resolve) => (resumerCaughtUp = resolve));
    const resumer = subscribeWithFetch(
      other.url,
      { chatId, afterSeq: null },
      {
        token,
        query: RESUME_STREAM,
        signal: AbortSignal.timeout(30_000),
        onEvent: (event) => {
          resumed.push(event);
          if (event.__typename === "TextDelta" && ++resumedDeltas === 3) resumerCaughtUp();
        },
      },
    );
    await caughtUp;

    proxy.down();
    // The owner stops the turn and shuts down while Redis is unreachable: the
    // partial answer is stored, its StreamAborted reaches only its own client.
    await owner.app.services.turns.stop(chatId, "Stopped by the test.");
    const sent = await sender;
    expect(sent.events.at(-1)).toMatchObject({ __typename: "StreamAborted" });
    await owner.close();
    ownerClosed = true;
    // The owner never reaches Redis again (a partition, then the process gone).
    await proxy.close();

    const { events } = await resumer;
    const terminal = events.at(-1)!;
    expect(terminal.__typename).toBe("StreamAborted");
    expect(terminal.partialMessage).toMatchObject({ status: "ABORTED", role: "ASSISTANT" });
    expect(terminal.partialMessage.id).toBe(sent.events[0].assistantMessageId);
    // Its seq follows the last event the resumer holds.
    expect(terminal.seq).toBe(events.at(-2)!.seq + 1);
  }, 60_000);
});
