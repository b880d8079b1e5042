import type { AddressInfo } from "node:net";
import { beforeEach } from "vitest";
import { createApp } from "../../src/app.ts";
import { createGatewayServer } from "../../src/http/coalesce-writes.ts";
import { signUserToken } from "../../src/auth/user-token.ts";
import { parseEnv, streamerUrlOf, type Env } from "../../src/config/env.ts";
import { startStreamer } from "../../src/streamer/server.ts";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import type { FakeHandler, FakeStreamer } from "./fake-streamer.ts";
import { closeGateway } from "./fixtures.ts";
import { startedForFile, useFakeStreamer } from "./file-hooks.ts";

export interface GraphQLResult<T = any> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: { code?: string } & Record<string, unknown> }[];
}

export interface TestGateway {
  url: string;
  app: Awaited<ReturnType<typeof createApp>>;
  env: Env;
  database: TestDatabase;
  /** POSTs an operation to /graphql, with a bearer token when given. */
  gql<T = any>(query: string, variables?: Record<string, unknown>, token?: string | null): Promise<GraphQLResult<T>>;
  /** A token for a user (created in the database on first use, as in production). */
  tokenFor(user: { id: string; type?: "guest" | "regular"; email?: string | null }): Promise<string>;
  close(): Promise<void>;
}

/**
 * The gateway on an ephemeral port over a fresh test database, or over
 * `shared.database` (another gateway's: two instances of one deployment),
 * which it then leaves to its owner to drop.
 */
export async function startTestGateway(
  overrides: Record<string, string> = {},
  shared: { database?: TestDatabase } = {},
): Promise<TestGateway> {
  const database = shared.database ?? (await createTestDatabase());
  // Tests sign in many guests from one address; the limit has a test of its own.
  const env = parseEnv({ LOG_LEVEL: "silent", MOCK_DELTA_DELAY_MS: "0", GUEST_SESSIONS_PER_HOUR: "0", ...overrides });
  const streamer = env.STREAM_MODE === "proxy" && !streamerUrlOf(env) ? await startStreamer(env) : null;
  const app = await createApp({ env, db: database.db, streamerUrl: streamer?.url ?? streamerUrlOf(env) });
  const server = createGatewayServer(app.yoga, { keepAliveMs: env.KEEP_ALIVE_TIMEOUT_MS });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    app,
    env,
    database,
    async gql(query, variables, token) {
      const response = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLResult;
    },
    tokenFor: (user) =>
      signUserToken(env, { id: user.id, type: user.type ?? "regular", email: user.email ?? null }, 3600),
    async close() {
      await app.services.turns.drain("The test gateway is closing.");
      await app.services.guestSessions.close();
      server.closeAllConnections();
      await app.eventStreams.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await streamer?.close();
      if (!shared.database) await database.drop();
    },
  };
}

type Overrides = Record<string, string>;

/**
 * The test file's gateway: started before its tests (with `overrides`, or
 * what the function returns then), its database emptied before each test
 * unless `resetEachTest` is false, closed after them. It exists only while
 * tests and hooks run; reading it earlier throws.
 */
export function useTestGateway(
  overrides: Overrides | (() => Overrides | Promise<Overrides>) = {},
  options: { resetEachTest?: boolean } = {},
): TestGateway {
  const gateway = startedForFile(
    "test gateway",
    async () => startTestGateway(typeof overrides === "function" ? await overrides() : overrides),
    closeGateway,
  );
  if (options.resetEachTest ?? true) beforeEach(() => gateway.database.reset());
  return gateway;
}

/**
 * A fake streamer answering with `answer` until a test sets another handler
 * with `fake.handle`, and the file's gateway streaming from it. The database
 * is kept between tests: a turn can outlive the test that started it and
 * still be writing.
 */
export function useStreamerGateway(
  overrides: Overrides = {},
  answer?: FakeHandler,
): { fake: FakeStreamer; gateway: TestGateway } {
  const fake = useFakeStreamer(answer);
  const gateway = useTestGateway(() => ({ STREAMER_URL: fake.url, ...overrides }), { resetEachTest: false });
  return { fake, gateway };
}
