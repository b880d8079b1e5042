import { log } from "../log.ts";
import type { RedisConnections } from "../redis/connections.ts";

/**
 * Carries stopStream to every gateway instance, since the connection that asks
 * may not be the one whose instance runs the turn. Redis pub/sub when
 * REDIS_URL is set; without it, a single instance needs no bus.
 */
export interface StopBus {
  /** `streamIds`: only those turns of the chat (an edit past some of them); all of them when absent. */
  publish(chatId: string, reason: string, streamIds?: readonly string[]): Promise<void>;
  close(): Promise<void>;
}

const CHANNEL = "chat-gateway:stop-stream";

export async function createRedisStopBus(
  redis: RedisConnections,
  onStop: (chatId: string, reason: string, streamIds?: readonly string[]) => void,
): Promise<StopBus> {
  redis.use();
  await redis.subscribe(CHANNEL, (text) => {
    try {
      const { chatId, reason, streamIds } = JSON.parse(text) as {
        chatId: string;
        reason: string;
        streamIds?: string[];
      };
      onStop(chatId, reason, Array.isArray(streamIds) ? streamIds : undefined);
    } catch (error) {
      log.warn("malformed stop message", { error });
    }
  });
  return {
    async publish(chatId, reason, streamIds) {
      await redis.commands.publish(CHANNEL, JSON.stringify({ chatId, reason, ...(streamIds ? { streamIds } : {}) }));
    },
    close: () => redis.release(),
  };
}
