import type { Redis } from "ioredis";

/** One entry of a turn's Stream: its id and fields ("" for a field it has not). */
export interface EntryWrite {
  key: string;
  id: string;
  event: string;
  chunk: string;
}

// KEYS: each entry's Stream, then each Stream to expire. ARGV: the length cap,
// the number of entries, each entry's id, event and chunk, then each expiry's seconds.
// An entry Redis refuses is reported, not fatal: the entries after it are still written
// (an EXPIRE refused is not reported, as it was not when these were pipelined).
const APPEND_ENTRIES = `
local maxlen = ARGV[1]
local entries = tonumber(ARGV[2])
local failures = {}
for i = 1, entries do
  local id, e, c = ARGV[3 * i], ARGV[3 * i + 1], ARGV[3 * i + 2]
  local reply
  if e ~= '' and c ~= '' then
    reply = redis.pcall('XADD', KEYS[i], 'MAXLEN', '~', maxlen, id, 'e', e, 'c', c)
  elseif e ~= '' then
    reply = redis.pcall('XADD', KEYS[i], 'MAXLEN', '~', maxlen, id, 'e', e)
  else
    reply = redis.pcall('XADD', KEYS[i], 'MAXLEN', '~', maxlen, id, 'c', c)
  end
  if type(reply) == 'table' and reply.err then
    failures[#failures + 1] = i
    failures[#failures + 1] = reply.err
  end
end
for j = entries + 1, #KEYS do
  redis.pcall('EXPIRE', KEYS[j], ARGV[2 * entries + j + 2])
end
return failures
`;

type WithAppend = Redis & {
  appendTurnEntries(keysAndArgs: (string | number)[]): Promise<(string | number)[]>;
};

/**
 * Writes a flush's entries, every turn's, in one command (a Lua script):
 * one command a flush instead of an XADD per event, each with its own
 * command object, promise and timer in ioredis (BENCHMARKS.md, "What was tried").
 * Resolves to the failure of each entry Redis refused, by index; rejects when
 * the command itself failed (no entry is known to be written then).
 */
export async function appendEntries(
  redis: Redis,
  entries: readonly EntryWrite[],
  maxLength: number,
  expiries: ReadonlyMap<string, number>,
): Promise<Map<number, string>> {
  const connection = redis as WithAppend;
  if (typeof connection.appendTurnEntries !== "function") {
    redis.defineCommand("appendTurnEntries", { lua: APPEND_ENTRIES });
  }
  const keys: string[] = [];
  const args: (string | number)[] = [maxLength, entries.length];
  for (const entry of entries) {
    keys.push(entry.key);
    args.push(entry.id, entry.event, entry.chunk);
  }
  for (const [key, seconds] of expiries) {
    keys.push(key);
    args.push(seconds);
  }
  const reply = await connection.appendTurnEntries([keys.length, ...keys, ...args]);
  const failures = new Map<number, string>();
  for (let i = 0; i + 1 < reply.length; i += 2) failures.set(Number(reply[i]) - 1, String(reply[i + 1]));
  return failures;
}
