import { afterAll, beforeAll } from "vitest";

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
