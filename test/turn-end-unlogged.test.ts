// A turn whose owner ended it while Redis was unreachable from it, then stopped
// before reaching Redis again: its terminal event never reached the shared
// log. A resumer already waiting on another instance is ended by that
// instance's sweep, and a resumer that comes later by its own read, each with
// the terminal event written from what the database stored. Redis only (two
// in-process gateways, one database).
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { metricsRegistry } from "../src/metrics.ts";
import { closeGateway, failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { startOutageProxy } from "./support/outage-proxy.ts";
import { RESUME_STREAM, sendInput, subscribeWithFetch, type StreamEvent } from "./support/sse.ts";

failOnUnhandledRejections();

const redisUrl = process.env.REDIS_URL;

/** The resumeStream reads running in this process (its gateways share one metrics registry). */
async function resumersNow(): Promise<number> {
  const metric = await metricsRegistry.getSingleMetric("chat_gateway_resumers")!.get();
  return metric.values[0]?.value ?? 0;
}

describe.skipIf(!redisUrl)("a turn whose end never reached Redis", () => {
  let other: TestGateway;
  beforeAll(async () => {
    other = await startTestGateway({ REDIS_URL: redisUrl!, TURN_LEASE_SECONDS: "3" });
  });
  afterAll(() => closeGateway(other));

  /**
   * Runs a [slow] turn on an owner reaching Redis through a proxy; `whileRunning`
   * once it has streamed a few deltas; then cuts Redis from the owner, stops the
   * turn and shuts the owner down. Returns what its sender saw.
   */
  async function ownerGoneAfterUnloggedEnd(token: string, whileRunning: (chatId: string) => Promise<void>) {
    const proxy = await startOutageProxy(redisUrl!);
    const owner = await startTestGateway({ REDIS_URL: proxy.url }, { database: other.database });
    try {
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
      await whileRunning(chatId);
      proxy.down();
      // The partial answer is stored; its StreamAborted reaches only the owner's own client.
      await owner.app.services.turns.stop(chatId, "Stopped by the test.");
      const sent = await sender;
      expect(sent.events.at(-1)).toMatchObject({ __typename: "StreamAborted" });
      return { chatId, sent: sent.events };
    } finally {
      await owner.close();
      // The owner never reaches Redis again (a partition, then the process gone).
      await proxy.close();
    }
  }

  function expectStoredEnd(events: StreamEvent[], sent: StreamEvent[]) {
    const terminal = events.at(-1)!;
    expect(terminal.__typename).toBe("StreamAborted");
    expect(terminal.partialMessage).toMatchObject({ status: "ABORTED", role: "ASSISTANT" });
    expect(terminal.partialMessage.id).toBe(sent[0].assistantMessageId);
  }

  it("ends a resumer waiting on another instance with the stored outcome once the owner is gone", async () => {
    const token = await other.tokenFor({ id: "unlogged-end-waiting" });
    let resumer!: ReturnType<typeof subscribeWithFetch>;
    const { sent } = await ownerGoneAfterUnloggedEnd(token, async (chatId) => {
      let caughtUp!: () => void;
      const reading = new Promise<void>((resolve) => (caughtUp = resolve));
      let deltas = 0;
      resumer = subscribeWithFetch(
        other.url,
        { chatId, afterSeq: null },
        {
          token,
          query: RESUME_STREAM,
          signal: AbortSignal.timeout(30_000),
          onEvent: (event) => {
            if (event.__typename === "TextDelta" && ++deltas === 3) caughtUp();
          },
        },
      );
      await reading;
    });
    const { events } = await resumer;
    expectStoredEnd(events, sent);
    // Its seq follows the last event the resumer holds.
    expect(events.at(-1)!.seq).toBe(events.at(-2)!.seq + 1);
  }, 60_000);

  it("ends a resumer that comes after the owner is gone, from the start or from past what the log holds", async () => {
    const token = await other.tokenFor({ id: "unlogged-end-later" });
    const { chatId, sent } = await ownerGoneAfterUnloggedEnd(token, async () => {});
    const held = sent.at(-2)!.seq;
    for (const afterSeq of [null, held]) {
      const { events, completed } = await subscribeWithFetch(
        other.url,
        { chatId, afterSeq },
        { token, query: RESUME_STREAM, signal: AbortSignal.timeout(20_000) },
      );
      expect(completed).toBe(true);
      expectStoredEnd(events, sent);
      if (afterSeq === null) {
        expect(events[0]).toEqual(sent[0]);
        expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i));
      } else expect(events.map((event) => event.seq)).toEqual([held + 1]);
    }
  }, 60_000);

  it("while its owner lives and holds what Redis missed, readers elsewhere wait for it: every event the sender saw, not an end from the database", async () => {
    const token = await other.tokenFor({ id: "unlogged-end-owner-alive" });
    const proxy = await startOutageProxy(redisUrl!);
    const owner = await startTestGateway(
      { REDIS_URL: proxy.url, TURN_LEASE_SECONDS: "3" },
      { database: other.database },
    );
    try {
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
      // Redis is cut from the owner for longer than a lease, and the turn ends meanwhile.
      proxy.down();
      await new Promise((resolve) => setTimeout(resolve, 500));
      await owner.app.services.turns.stop(chatId, "Stopped by the test.");
      const sent = (await sender).events;
      expect(sent.at(-1)).toMatchObject({ __typename: "StreamAborted", reason: "Stopped by the test." });
      const resume = (afterSeq: number | null) =>
        subscribeWithFetch(
          other.url,
          { chatId, afterSeq },
          { token, query: RESUME_STREAM, signal: AbortSignal.timeout(30_000) },
        );
      const fromStart = resume(null);
      const fromLast = resume(sent.at(-2)!.seq);
      // Longer than a lease (3 s) with the readers waiting: the sweep leaves them to the owner.
      await new Promise((resolve) => setTimeout(resolve, 5_000));
      proxy.up();
      expect((await fromStart).events).toEqual(sent);
      expect((await fromLast).events).toEqual([sent.at(-1)]);
      // And a reader that comes later replays the same.
      expect((await resume(null)).events).toEqual(sent);
    } finally {
      await owner.close();
      await proxy.close();
    }
  }, 60_000);

  it("a turn Redis never saw, whose owner is gone: a reader waiting from the start gets StreamStarted, then the stored end", async () => {
    const token = await other.tokenFor({ id: "unlogged-whole-turn" });
    const proxy = await startOutageProxy(redisUrl!);
    const owner = await startTestGateway({ REDIS_URL: proxy.url }, { database: other.database });
    let resumer!: ReturnType<typeof subscribeWithFetch>;
    let sent: StreamEvent[];
    try {
      proxy.down();
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
      resumer = subscribeWithFetch(
        other.url,
        { chatId, afterSeq: null },
        { token, query: RESUME_STREAM, signal: AbortSignal.timeout(30_000) },
      );
      // It reads the turn as running (it waits for its events) before the turn ends.
      await vi.waitFor(async () => expect(await resumersNow()).toBe(1));
      await owner.app.services.turns.stop(chatId, "Stopped by the test.");
      sent = (await sender).events;
    } finally {
      await owner.close();
      await proxy.close();
    }
    const { events } = await resumer;
    expect(events.map((event) => event.__typename)).toEqual(["StreamStarted", "StreamAborted"]);
    expect(events[0]).toEqual(sent[0]);
    expect(events[1].seq).toBe(1);
    expectStoredEnd(events, sent);
  }, 60_000);

  it("while a write of its end hangs (Redis stalled, not refused) past a lease, a later reader still waits for the owner", async () => {
    const token = await other.tokenFor({ id: "unlogged-end-stalled" });
    const proxy = await startOutageProxy(redisUrl!);
    const owner = await startTestGateway(
      { REDIS_URL: proxy.url, TURN_LEASE_SECONDS: "3" },
      { database: other.database },
    );
    try {
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
      proxy.stall();
      await owner.app.services.turns.stop(chatId, "Stopped by the test.");
      const sent = (await sender).events;
      // A reader comes that finds the log without the end (after its 2 s grace) past the lease (3 s),
      // while the owner's write still hangs (Redis's command timeout is 5 s).
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      const late = subscribeWithFetch(
        other.url,
        { chatId, afterSeq: null },
        { token, query: RESUME_STREAM, signal: AbortSignal.timeout(30_000) },
      );
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      proxy.up();
      expect((await late).events).toEqual(sent);
    } finally {
      await owner.close();
      await proxy.close();
    }
  }, 60_000);
});
