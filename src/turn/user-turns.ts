import { ChatSDKError } from "../errors.ts";
import { metrics } from "../metrics.ts";

/**
 * How many turns one user may have running (or being prepared) at once in
 * this process (MAX_RUNNING_TURNS_PER_USER; 0: no bound). Without it one
 * user could take every slot of MAX_RUNNING_TURNS, and /ready would then
 * turn the instance away for everyone. A refused turn stores and charges
 * nothing; the user's running turns are not touched.
 */
export class UserTurns {
  private readonly limit: number;
  private readonly counts = new Map<string, number>();

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Counts a new turn of `userId`, or refuses it; the returned function uncounts it (once). */
  enter(userId: string): () => void {
    if (this.limit <= 0) return () => {};
    const count = this.counts.get(userId) ?? 0;
    if (count >= this.limit) {
      metrics.refusedBusyUser();
      throw new ChatSDKError(
        "rate_limit:chat",
        `You have ${this.limit} ${this.limit === 1 ? "answer" : "answers"} running at once, the most one user may. Wait for one to end, or stop one, then send again.`,
        { reason: "too_many_running_turns" },
      );
    }
    this.counts.set(userId, count + 1);
    let left = false;
    return () => {
      if (left) return;
      left = true;
      const now = (this.counts.get(userId) ?? 1) - 1;
      if (now > 0) this.counts.set(userId, now);
      else this.counts.delete(userId);
    };
  }
}
