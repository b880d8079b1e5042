import { setTimeout as sleep } from "node:timers/promises";
import type { Database } from "../db/client.ts";
import { getActiveStreamIdsByChatId } from "../db/streams.ts";
import { requestStops } from "../db/turn-lease.ts";
import { log } from "../log.ts";
import type { TurnLeases } from "./lease.ts";
import type { StopBus } from "./stop-bus.ts";

// How long stopStream waits for another instance to store the turn it stopped,
// once that instance has had the stop (at the latest when it renews its leases).
const REMOTE_STOP_WAIT_MS = 5_000;

/**
 * Stops the turns another instance runs: asks for the stop on their rows,
 * which their owner reads when it renews its leases (so a Redis outage or
 * reconnect that loses the published stop does not lose the stop), and
 * publishes it, which their owner hears at once; then waits for those turns
 * to be stored; true when one was. A stream still active when the wait ends
 * is taken for one left by an instance that is gone (a crash mid-turn) and
 * ended as the lease sweep would, at once, so it does not hold every later
 * stop of the chat for the whole wait, nor make it answer true. (Should its
 * instance be alive after all, its own store of the turn overwrites that.)
 */
export async function stopElsewhere(
  { db, bus, leases }: { db: Database; bus: StopBus; leases: TurnLeases },
  chatId: string,
  reason: string,
  local: Set<string>,
  only?: readonly string[],
): Promise<boolean> {
  const remote = async () =>
    (await getActiveStreamIdsByChatId(db.prisma, chatId)).filter(
      (id) => !local.has(id) && (!only || only.includes(id)),
    );
  const running = await remote();
  if (running.length === 0) return false;
  await requestStops(db.sql, running, reason);
  bus.publish(chatId, reason, only).catch((error: unknown) =>
    log.warn("the stop could not be published; the turns' owners read it when they renew their leases", {
      chatId,
      error,
    }),
  );
  const deadline = Date.now() + leases.renewEveryMs + REMOTE_STOP_WAIT_MS;
  // Only the turns running when the stop went out: later ones are not its business.
  let left = running;
  while (left.length > 0 && Date.now() < deadline) {
    await sleep(25);
    const active = new Set(await remote());
    left = left.filter((id) => active.has(id));
  }
  if (left.length > 0) {
    log.warn("no instance answered the stop for these turns; ending them as their instance's crash", {
      chatId,
      streamIds: left,
    });
    await leases.recoverNow(left);
  }
  return left.length < running.length;
}
