import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { startGateway, type RunningGateway } from "../src/server.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { expectOk } from "./support/fixtures.ts";
import { sendInput, subscribeWithFetch } from "./support/sse.ts";

// The process as `npm start` runs it: startGateway, built-in streamer included.
describe("two instances on one machine", () => {
  let database: TestDatabase;
  const running: RunningGateway[] = [];

  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const gateway of running) await gateway.close();
    await database?.drop();
  });

  const settings = () => ({
    PORT: "0",
    HOST: "127.0.0.1",
    LOG_LEVEL: "silent",
    MOCK_DELTA_DELAY_MS: "0",
    // Two instances of one deployment on PostgreSQL; on PGlite each its own in-memory database.
    ...(database.url ? { DATABASE_URL: database.url } : { DATA_DIR: "memory://" }),
  });

  test("with only PORT changed (STREAMER_PORT left unset) both start, and each runs a turn through its own built-in streamer", async () => {
    running.push(await startGateway(parseEnv(settings())));
    running.push(await startGateway(parseEnv(settings())));
    expect(running[0].url).not.toBe(running[1].url);

    for (const gateway of running) {
      const signIn = await fetch(`${gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ query: "mutation { createGuestSession { token } }" }),
      });
      const token = expectOk(await signIn.json()).createGuestSession.token as string;
      const turn = await subscribeWithFetch(gateway.url, sendInput("[plain] hello"), { token });
      expect(turn.events.at(-1)?.__typename).toBe("StreamFinished");
    }
    // Two embedded databases migrate here: well over a minute on a loaded machine.
  }, 180_000);
});

describe("a port or host it cannot listen on", () => {
  test("is a start-up error naming PORT or HOST, not the socket's words alone", async () => {
    const settings = { HOST: "127.0.0.1", LOG_LEVEL: "silent", DATA_DIR: "memory://", MOCK_DELTA_DELAY_MS: "0" };
    const first = await startGateway(parseEnv({ ...settings, PORT: "0" }));
    try {
      const port = new URL(first.url).port;
      await expect(startGateway(parseEnv({ ...settings, PORT: port }))).rejects.toMatchObject({
        name: "StartupError",
        variable: "PORT",
        message: expect.stringMatching(new RegExp(`PORT ${port}: another process listens on 127.0.0.1:${port}`)),
      });
      await expect(startGateway(parseEnv({ ...settings, PORT: "0", HOST: "192.0.2.1" }))).rejects.toMatchObject({
        name: "StartupError",
        variable: "HOST",
      });
    } finally {
      await first.close();
    }
  }, 180_000);
});
