import { afterAll, beforeAll, beforeEach } from "vitest";
import { createTestDatabase, type TestDatabase } from "./database.ts";
import { startFakeStreamer, type FakeHandler, type FakeStreamer } from "./fake-streamer.ts";
import { dropDatabase } from "./fixtures.ts";

// What a test file starts once for all its tests. Kept out of
// fake-streamer.ts and database.ts, which scripts/chaos imports outside vitest.

/**
 * Something a whole test file shares: started by a beforeAll, stopped by an
 * afterAll. After-hooks run in reverse order, so it is stopped after whatever
 * the file set up later, which may still use it. It exists only while tests
 * and hooks run; reading it earlier throws.
 */
export function startedForFile<T extends object>(
  name: string,
  start: () => Promise<T>,
  stop: (started: T) => Promise<unknown>,
): T {
  let started: T | undefined;
  beforeAll(async () => {
    started = await start();
  });
  afterAll(async () => {
    if (started) await stop(started);
  });
  return new Proxy({} as T, {
    get(_target, key) {
      if (!started) throw new Error(`the ${name} is read before beforeAll started it`);
      return Reflect.get(started, key);
    },
  });
}

/** The test file's fake streamer: started before its tests, closed after them. */
export function useFakeStreamer(initial?: FakeHandler): FakeStreamer {
  return startedForFile(
    "fake streamer",
    () => startFakeStreamer(initial),
    (fake) => fake.close(),
  );
}

/**
 * The test file's database: created before its tests, emptied before each
 * test unless `resetEachTest` is false, dropped after them.
 */
export function useTestDatabase(options: { resetEachTest?: boolean } = {}): TestDatabase {
  const database = startedForFile("test database", () => createTestDatabase(), dropDatabase);
  if (options.resetEachTest ?? true) beforeEach(() => database.reset());
  return database;
}
