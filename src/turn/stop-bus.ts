import { Redis } from "ioredis";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";

/**
 * Carries stopStream to every gateway instance, since the connection that asks
 * may not be the one whose instance runs the turn. Redis pub/sub when
 * REDIS_URL is set; without it, a single instance needs no bus.
 */
export interface StopBus {
  publish(chatId: string, reason: string): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL = "chat-gateway:stop-stream";

export async function createRedisStopBus(
  url: string,
  onStop: (chatId: string, reason: string) => void,
): Promise<StopBus> {
  const publisher = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 2 });
  const subscriber = new Redis(url, { lazyConnect: true });
  for (const client of [publisher, subscriber]) {
    client.on("error", (error) => {
      metrics.redisError();
      log.warn("redis connection failed", { error });
    });
  }
  await Promise.all([publisher.connect(), subscriber.connect()]);
  subscriber.on("message", (_channel: string, text: string) => {
    try {
      const { chatId, reason } = JSON.parse(text) as { chatId: string; reason: string };
      onStop(chatId, reason);
    } catch (error) {
      log.warn("malformed stop message", { error });
    }
  });
  await subscriber.subscribe(CHANNEL);
  return {
    async publish(chatId, reason) {
      await publisher.publish(CHANNEL, JSON.stringify({ chatId, reason }));
    },
    async close() {
      await Promise.allSettled([subscriber.quit(), publisher.quit()]);
    },
  };
}
