// The Lua scripts of single-connection mode's Redis event streams
// (redis-event-streams.ts: the keys they take, in the order given there), each
// one atomic step on one stream's keys.
import type { Redis } from "ioredis";

// XADD unless the stream's GET has closed (frames still in flight from an
// operation being stopped must not bring a deleted stream back) or it has
// ended; past the waiting bounds (only what already waits counts: a holder
// that keeps up gets any result), end it (2) instead; a stream no GET holds
// lives only as long as its reservation (and a grace for clocks that differ),
// past which nothing is added (3).
export const SEND_FRAMES = `
local holder = redis.call('GET', KEYS[2])
if holder == 'closed' then return 0 end
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)[1]
if last and last[2][1] == 'end' then return 0 end
local ttl = tonumber(ARGV[3])
if not holder then
  local left = tonumber(ARGV[6])
  if left + tonumber(ARGV[7]) <= 0 then return 3 end
  ttl = left + tonumber(ARGV[8])
end
local waitingResults = tonumber(redis.call('HGET', KEYS[4], 'r') or '0')
local waitingBytes = tonumber(redis.call('HGET', KEYS[4], 'b') or '0')
local results = waitingResults + tonumber(ARGV[5])
local bytes = waitingBytes + #ARGV[4]
if (waitingResults > 0 and results > tonumber(ARGV[1])) or (waitingBytes > 0 and bytes > tonumber(ARGV[2])) then
  local ops = redis.call('SMEMBERS', KEYS[3])
  redis.call('XADD', KEYS[1], '*', 'end', #ops == 0 and '[]' or cjson.encode(ops))
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 2
end
redis.call('XADD', KEYS[1], '*', 'e', ARGV[4])
redis.call('HSET', KEYS[4], 'r', results, 'b', bytes)
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[4], ttl)
return 1`;

export type Commands = Redis & {
  sendFrames(
    events: string,
    holder: string,
    ops: string,
    waiting: string,
    maxResults: number,
    maxBytes: number,
    ttlMs: number,
    frames: string,
    results: number,
    reservationLeftMs: number,
    refuseGraceMs: number,
    keepGraceMs: number,
  ): Promise<number>;
  takeFrames(events: string, waiting: string, afterId: string, results: number, bytes: number): Promise<number>;
  refreshHolder(holder: string, ops: string, holderTtlMs: number, opsTtlMs: number): Promise<number>;
};

// The holder took what it read: trimmed, and no longer counted as waiting
// (only while the count exists: a stream whose keys expired meanwhile gets no
// count without an expiry, nor below zero).
export const TAKE_FRAMES = `
redis.call('XTRIM', KEYS[1], 'MINID', ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 then
  if redis.call('HINCRBY', KEYS[2], 'r', -tonumber(ARGV[2])) < 0 then redis.call('HSET', KEYS[2], 'r', 0) end
  if redis.call('HINCRBY', KEYS[2], 'b', -tonumber(ARGV[3])) < 0 then redis.call('HSET', KEYS[2], 'b', 0) end
end
return 1`;

// The holder is alive: its key is set again even if Redis lost it (a sender
// would otherwise take the stream for one nobody opened), unless it was closed.
export const REFRESH_HOLDER = `
if redis.call('GET', KEYS[1]) ~= 'closed' then redis.call('SET', KEYS[1], 'open', 'PX', ARGV[1]) end
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return 1`;
