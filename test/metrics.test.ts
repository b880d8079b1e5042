// GET /metrics: Prometheus' text format with the turn series after a turn;
// off in production unless METRICS is set; METRICS_TOKEN guards it.
import { describe, expect, it } from "vitest";
import { heldTextTurn } from "./support/fake-streamer.ts";
import { closeGateway, insertUser } from "./support/fixtures.ts";
import { startTestGateway, useStreamerGateway } from "./support/gateway.ts";
import { eventually, RESUME_STREAM, sendInput, subscribeWithFetch } from "./support/sse.ts";

const { fake, gateway } = useStreamerGateway();

/** The samples of a text exposition, by series with its labels as written (`name{a="b"}`). */
function samples(text: string): Map<string, number> {
  const found = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const space = line.lastIndexOf(" ");
    found.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return found;
}

async function scrape(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/metrics`, { headers });
  return { status: response.status, contentType: response.headers.get("content-type"), text: await response.text() };
}

describe("/metrics", () => {
  it("shows a finished turn, its latencies, and the process's event-loop delay", async () => {
    const token = await gateway.tokenFor(await insertUser(gateway.database.db.prisma));
    const turn = await subscribeWithFetch(gateway.url, sendInput("Hello?"), { token });
    expect(turn.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });

    const scraped = await scrape(gateway.url);
    expect(scraped.status).toBe(200);
    expect(scraped.contentType).toContain("text/plain");
    const series = samples(scraped.text);
    expect(series.get('chat_gateway_turns_total{outcome="finished",code=""}')).toBe(1);
    expect(series.get("chat_gateway_running_turns")).toBe(0);
    expect(series.get("chat_gateway_first_delta_seconds_count")).toBe(1);
    expect(series.get("chat_gateway_delta_latency_seconds_count")).toBeGreaterThan(0);
    expect(series.get("chat_gateway_resumers")).toBe(0);
    expect(series.has("chat_gateway_nodejs_eventloop_lag_p99_seconds")).toBe(true);
    for (const name of [
      "upstream_errors_total",
      "database_errors_total",
      "redis_errors_total",
      "refused_for_overload_total",
    ]) {
      expect(scraped.text).toContain(`# TYPE chat_gateway_${name} counter`);
    }
  });

  it("counts the running turns and their resumers while they read", async () => {
    const { promise: released, resolve: release } = Promise.withResolvers<void>();
    fake.handle(heldTextTurn("Part of it", ", and the rest.", () => released));
    const token = await gateway.tokenFor(await insertUser(gateway.database.db.prisma));
    const input = sendInput("Hello?");
    const sending = subscribeWithFetch(gateway.url, input, { token });
    const gauges = async () => {
      const series = samples((await scrape(gateway.url)).text);
      return { running: series.get("chat_gateway_running_turns"), resumers: series.get("chat_gateway_resumers") };
    };
    await eventually(async () => (await gauges()).running === 1, 10_000);
    const resuming = subscribeWithFetch(
      gateway.url,
      { chatId: input.input.chatId, afterSeq: null },
      { token, query: RESUME_STREAM },
    );
    await eventually(async () => (await gauges()).resumers === 1, 10_000);

    release();
    for (const stream of await Promise.all([sending, resuming])) {
      expect(stream.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
    }
    await eventually(async () => {
      const { running, resumers } = await gauges();
      return running === 0 && resumers === 0;
    }, 10_000);
  });

  it("counts an upstream failure by kind", async () => {
    fake.handle((call) => call.destroy());
    const token = await gateway.tokenFor(await insertUser(gateway.database.db.prisma));
    const turn = await subscribeWithFetch(gateway.url, sendInput("Hello?"), { token });
    expect(turn.events.at(-1)).toMatchObject({ __typename: "StreamFailed", code: "offline:chat" });
    const series = samples((await scrape(gateway.url)).text);
    expect(series.get('chat_gateway_turns_total{outcome="failed",code="offline:chat"}')).toBe(1);
    expect([...series.keys()].some((key) => key.startsWith("chat_gateway_upstream_errors_total{kind="))).toBe(true);
  });
});

describe("/metrics settings", () => {
  it("is off in production unless METRICS is set", async () => {
    const production = await startTestGateway({ NODE_ENV: "production", STREAMER_URL: fake.url });
    try {
      const scraped = await scrape(production.url);
      expect(scraped.status).toBe(404);
      expect(scraped.text).not.toContain("chat_gateway_");
    } finally {
      await closeGateway(production);
    }
  });

  it("wants the bearer token when METRICS_TOKEN is set", async () => {
    const guarded = await startTestGateway({
      NODE_ENV: "production",
      METRICS: "true",
      METRICS_TOKEN: "scrape-secret",
      STREAMER_URL: fake.url,
    });
    try {
      expect((await scrape(guarded.url)).status).toBe(401);
      expect((await scrape(guarded.url, { authorization: "Bearer wrong" })).status).toBe(401);
      const scraped = await scrape(guarded.url, { authorization: "Bearer scrape-secret" });
      expect(scraped.status).toBe(200);
      expect(scraped.text).toContain("chat_gateway_running_turns");
    } finally {
      await closeGateway(guarded);
    }
  });
});
