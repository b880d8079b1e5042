import type { Database } from "../db/client.ts";
import type { ChunkSource } from "./chunk-source.ts";
import type { PreparedTurn } from "./prepare.ts";
import { TurnRun } from "./turn-run.ts";

/** The turns running in this process, by chat, so stopStream can reach them from any connection. */
export class TurnRegistry {
  private readonly db: Database;
  private readonly source: ChunkSource;
  private readonly running = new Map<string, Set<TurnRun>>();

  constructor(db: Database, source: ChunkSource) {
    this.db = db;
    this.source = source;
  }

  /** Lets the chunk source get ready while the turn is being prepared. */
  warm(userId: string, chatId: string): void {
    this.source.warm(userId, chatId);
  }

  start(turn: PreparedTurn): TurnRun {
    const run = new TurnRun(this.db, this.source, turn);
    const chatId = turn.chat.id;
    const runs = this.running.get(chatId) ?? new Set<TurnRun>();
    runs.add(run);
    this.running.set(chatId, runs);
    void run.finished.finally(() => {
      runs.delete(run);
      if (runs.size === 0 && this.running.get(chatId) === runs) this.running.delete(chatId);
    });
    return run;
  }

  /**
   * Stops the chat's running turns and resolves once their partial turns are
   * stored, so a read right after sees them; true when one was running.
   */
  async stop(chatId: string, reason: string): Promise<boolean> {
    const runs = [...(this.running.get(chatId) ?? [])];
    for (const run of runs) run.stop(reason);
    await Promise.allSettled(runs.map((run) => run.finished));
    return runs.length > 0;
  }

  /** On shutdown: stops every turn and waits until each is stored. */
  async drain(reason: string): Promise<void> {
    const runs = [...this.running.values()].flatMap((set) => [...set]);
    for (const run of runs) run.stop(reason);
    await Promise.allSettled(runs.map((run) => run.finished));
  }
}
