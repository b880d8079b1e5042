// Redis (the turn log and stop bus shared by instances) goes away mid-turn.
// Promise: the running turns still end with one typed terminal event each and
// are stored; the partial answer stored and marked if a turn cannot go on.
import { startGateway } from "../gateway.ts";
import { measure, type Row } from "../measure.ts";
import { startRefusingProxy } from "../tcp-proxy.ts";
import { faultMidTurn, slowStreamer } from "./mid-turn.ts";
import type { Scale } from "./scale.ts";

export async function redisRefused(scale: Scale, redisUrl: string): Promise<Row> {
  const fake = await slowStreamer();
  const proxy = await startRefusingProxy(redisUrl);
  const gateway = await startGateway({ STREAMER_URL: fake.url, REDIS_URL: proxy.via(redisUrl) });
  try {
    const turns = await faultMidTurn(gateway, scale.faultTurns, () => proxy.refuse());
    await proxy.restore();
    return await measure("Redis refused mid-turn", gateway.database.url!, turns);
  } finally {
    await proxy.restore().catch(() => undefined);
    await gateway.close();
    await proxy.close();
    await fake.close();
  }
}
