import { randomUUID } from "node:crypto";
import type { Database } from "../db/client.ts";
import type { RedisConnections } from "../redis/connections.ts";
import type { ChunkSource } from "./chunk-source.ts";
import { drainingRefusal, drainRuns, type DrainOptions, type DrainReport } from "./drain.ts";
import { TurnLeases } from "./lease.ts";
import { metrics } from "../metrics.ts";
import { OverloadGuard, type OverloadLimits } from "./overload.ts";
import { UserTurns } from "./user-turns.ts";
import type { PreparedTurn } from "./prepare.ts";
import { stopElsewhere } from "./remote-stop.ts";
import { createRedisStopBus, type StopBus } from "./stop-bus.ts";
import { RELAYING, storedEnd } from "./settle-reads.ts";
import { isTerminal, type TurnEvent, type TurnLog } from "./turn-log.ts";
import { TurnRun, type TurnSettings } from "./turn-run.ts";
import { UnsavedTurns } from "./unsaved-turns.ts";

export interface TurnRegistryOptions {
  turnLog: TurnLog;
  settings: TurnSettings;
  /** See TurnLeases. */
  leaseSeconds: number;
  /** How long an answer the database did not take is kept and tried again (see UnsavedTurns). */
  unsavedRetentionMs: number;
  /** See OverloadGuard; no limits when absent. */
  overload?: OverloadLimits;
  /** See UserTurns; no limit when absent or 0. */
  maxRunningTurnsPerUser?: number;
}

/**
 * The turns running in this process, by chat, so stopStream can reach them
 * from any connection; with a stop bus (Redis), from any instance too. Their
 * events go to the turn log, which resumers read, and their owner lease
 * (lease.ts) lets another instance end them should this one die.
 */
export class TurnRegistry {
  /** This process, as the owner of the turns it runs. */
  readonly instanceId = randomUUID();
  private readonly db: Database;
  private readonly source: ChunkSource;
  private readonly turnLog: TurnLog;
  private readonly settings: TurnSettings;
  private readonly leases: TurnLeases;
  private readonly leaseSeconds: number;
  private readonly unsaved: UnsavedTurns;
  private readonly running = new Map<string, Set<TurnRun>>();
  /** How many turns run here: counted, as admission asks for every new turn. */
  private runningTurns = 0;
  private bus: StopBus | null = null;
  private readonly overload: OverloadGuard;
  private readonly userTurns: UserTurns;
  /** Turns admitted and still being prepared (stored, charged): they count toward the limit. */
  private preparing = 0;

  constructor(
    db: Database,
    source: ChunkSource,
    { turnLog, settings, leaseSeconds, unsavedRetentionMs, overload, maxRunningTurnsPerUser = 0 }: TurnRegistryOptions,
  ) {
    this.overload = new OverloadGuard(
      overload ?? { maxRunningTurns: 0, eventLoopDelayMs: 0 },
      () => this.runningTurns + this.preparing,
    );
    this.userTurns = new UserTurns(maxRunningTurnsPerUser);
    this.db = db;
    this.source = source;
    this.turnLog = turnLog;
    this.settings = settings;
    this.unsaved = new UnsavedTurns(db, { retentionMs: unsavedRetentionMs });
    this.leaseSeconds = leaseSeconds;
    this.leases = new TurnLeases(db, turnLog, {
      ownerId: this.instanceId,
      leaseSeconds,
      // An answer kept unsaved is still this instance's: its lease is renewed, no sweep takes it.
      running: () => [...this.runningStreamIds(), ...this.unsaved.streamIds],
      onStop: ({ id, reason }) => {
        for (const run of this.runs()) if (run.turn.streamId === id) run.stop(reason);
      },
    });
  }

  /** Starts the owner leases' renewal and sweep; `recoverNow` ends at once the turns a previous run left active. */
  startLeases(options: { recoverNow: boolean }): Promise<void> {
    return this.leases.start(options);
  }

  /** Lets the chunk source get ready while the turn is being prepared. */
  warm(userId: string, chatId: string): void {
    this.source.warm(userId, chatId);
  }

  start(turn: PreparedTurn): TurnRun {
    const run = new TurnRun(this.db, this.source, this.turnLog, this.settings, turn, this.unsaved);
    const chatId = turn.chat.id;
    const runs = this.running.get(chatId) ?? new Set<TurnRun>();
    runs.add(run);
    this.running.set(chatId, runs);
    this.runningTurns++;
    metrics.turnStarted();
    void run.finished.finally(() => {
      metrics.turnStopped();
      this.runningTurns--;
      runs.delete(run);
      if (runs.size === 0 && this.running.get(chatId) === runs) this.running.delete(chatId);
    });
    // Admitted just before a drain began, started once it was over: stopped and stored like the rest.
    if (this.drained !== null) run.stop(this.drained);
    return run;
  }

  /**
   * A turn's events after `afterSeq`, from the log, wherever it runs; `running`:
   * its Stream row is active (so the read waits for events not logged yet).
   */
  async *resume(streamId: string, afterSeq: number, running: boolean, signal?: AbortSignal): AsyncGenerator<TurnEvent> {
    let held = afterSeq;
    for await (const event of this.turnLog.read(streamId, afterSeq, { signal, running })) {
      yield event;
      if (isTerminal(event)) return;
      held = event.seq;
    }
    // An ended turn whose log lacks its end: the end the database stored, unless its
    // owner still holds the rest for the log (Redis missed it): then the read waits for it.
    if (!running && !signal?.aborted) {
      const end = await storedEnd(this.db, this.turnLog, streamId, held, this.leaseSeconds);
      if (end === RELAYING) yield* this.resume(streamId, held, true, signal);
      else if (end) yield end;
    }
  }

  /** Hears stops published by every instance (REDIS_URL). */
  async connectStopBus(redis: RedisConnections): Promise<void> {
    this.bus = await createRedisStopBus(redis, (chatId, reason, only) => void this.stopHere(chatId, reason, only));
  }

  /**
   * Stops the chat's running turns (`only` those, when given), here and, with
   * a stop bus, on other instances; resolves once their partial turns are
   * stored, so a read right after sees them. True when one was running.
   */
  async stop(chatId: string, reason: string, only?: readonly string[]): Promise<boolean> {
    const here = this.stopHere(chatId, reason, only);
    const bus = this.bus;
    const elsewhere = bus
      ? stopElsewhere({ db: this.db, bus, leases: this.leases }, chatId, reason, here.ids, only)
      : Promise.resolve(false);
    const [, stoppedElsewhere] = await Promise.all([here.stored, elsewhere]);
    return here.ids.size > 0 || stoppedElsewhere;
  }

  private stopHere(chatId: string, reason: string, only?: readonly string[]) {
    const runs = [...(this.running.get(chatId) ?? [])].filter((run) => !only || only.includes(run.turn.streamId));
    for (const run of runs) run.stop(reason);
    return {
      ids: new Set(runs.map((run) => run.turn.streamId)),
      stored: Promise.allSettled(runs.map((run) => run.finished)),
    };
  }

  /** Set once shutdown begins: new turns are refused (see `refuseIfDraining`). */
  get draining(): boolean {
    return this.drainStarted;
  }

  private drainStarted = false;
  /** The stop reason, once a drain has stopped waiting for turns. */
  private drained: string | null = null;

  /** Throws `offline:chat` once shutdown has begun; called before a turn stores or charges anything. */
  refuseIfDraining(): void {
    if (this.drainStarted) throw drainingRefusal();
  }

  /** True while new turns would be refused for overload (see OverloadGuard); /ready says so. */
  get overloaded(): boolean {
    return this.overload.reason() !== null;
  }

  /**
   * Admits a new turn, refusing it first when draining or overloaded (before
   * `prepare` stores or charges anything), then starts what `prepare` made.
   */
  async admit(userId: string, prepare: () => Promise<PreparedTurn>): Promise<TurnRun> {
    this.refuseIfDraining();
    const leave = this.userTurns.enter(userId);
    // Counted before it is judged: turns admitted at once see each other, also while a worker asks its primary.
    this.preparing++;
    let run: TurnRun;
    try {
      const admitted = this.overload.admit();
      if (admitted instanceof Promise) {
        await admitted;
        this.refuseIfDraining();
      }
      run = this.start(await prepare());
    } catch (error) {
      leave();
      throw error;
    } finally {
      this.preparing--;
    }
    void run.finished.finally(leave);
    return run;
  }

  /** The stream ids of the turns running here (what a shutdown cut off, when it logs that). */
  runningStreamIds(): string[] {
    return this.runs().map((run) => run.turn.streamId);
  }

  /**
   * On shutdown: refuses new turns, lets the running ones go on for the grace
   * (none by default), stops the rest and waits until each is stored, tries
   * once more the answers the database did not take, then leaves the stop
   * bus, the leases and the log.
   */
  async drain(reason: string, options: DrainOptions = {}): Promise<DrainReport> {
    this.drainStarted = true;
    this.overload.close();
    const report = await drainRuns(() => this.runs(), reason, options);
    this.drained = reason;
    await this.unsaved.close();
    await this.leases.stop();
    await this.bus?.close();
    this.bus = null;
    await this.turnLog.shutdown();
    return report;
  }

  private runs(): TurnRun[] {
    return [...this.running.values()].flatMap((set) => [...set]);
  }
}
