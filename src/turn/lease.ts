import type { Database } from "../db/client.ts";
import { claimLapsedTurns, renewLeases, type StopRequest } from "../db/turn-lease.ts";
import { log } from "../log.ts";
import type { TurnLog } from "./turn-log.ts";
import { recoverTurn } from "./recover.ts";
import { settleQuietReads } from "./settle-reads.ts";

// A lapse no lease reaches (only a turn begun before leases existed, with none, is taken).
const NO_LEASE_LAPSES = 1e9;

/**
 * The owner lease of the turns this instance runs, and the sweep for turns
 * whose owner died. Every third of `leaseSeconds` the instance renews its
 * turns' leases and sweeps: a turn not renewed for `leaseSeconds` is claimed
 * by one instance and recovered (recover.ts). With the default 15 s a crashed
 * instance's turns end within about 20 s. The renewal also hands its turns'
 * stop requests (`requestStops`) to `onStop`. A database that did not answer
 * kept every owner from renewing, the live ones too: once it answers this
 * instance again, its sweep takes no turn for a full lease, so live owners
 * renew first (an owner holding an answer the database did not take would
 * lose it to a recovery from an older checkpoint).
 */
export class TurnLeases {
  private readonly db: Database;
  private readonly turnLog: TurnLog;
  private readonly ownerId: string;
  private readonly leaseSeconds: number;
  private readonly running: () => string[];
  private readonly onStop: (request: StopRequest) => void;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  /** A renewal or a sweep failed, and no sweep has succeeded since. */
  private failing = false;
  /** When a sweep last succeeded after a failure. */
  private answeredAgainAt = Number.NEGATIVE_INFINITY;

  constructor(
    db: Database,
    turnLog: TurnLog,
    options: {
      ownerId: string;
      leaseSeconds: number;
      running: () => string[];
      onStop: (request: StopRequest) => void;
    },
  ) {
    this.db = db;
    this.turnLog = turnLog;
    this.ownerId = options.ownerId;
    this.leaseSeconds = options.leaseSeconds;
    this.running = options.running;
    this.onStop = options.onStop;
  }

  /** How long until every running turn's lease is renewed (and its stop requests read). */
  get renewEveryMs(): number {
    return (this.leaseSeconds * 1000) / 3;
  }

  /**
   * Starts renewing and sweeping. `recoverNow`: the embedded single instance,
   * whose every active turn at start was left by its own previous run.
   */
  async start({ recoverNow }: { recoverNow: boolean }): Promise<void> {
    if (recoverNow) await this.sweep(0);
    this.timer = setInterval(() => {
      this.ticking ??= this.tick().finally(() => (this.ticking = null));
    }, this.renewEveryMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.ticking;
  }

  private async tick(): Promise<void> {
    try {
      const relaying = this.turnLog.relaying?.() ?? [];
      for (const request of await renewLeases(this.db.sql, this.running(), relaying)) this.onStop(request);
    } catch (error) {
      this.failing = true;
      log.warn("turn leases could not be renewed", { error });
    }
    const settled = !this.failing && Date.now() - this.answeredAgainAt >= this.leaseSeconds * 1000;
    // Until then the sweep only finds out whether the database answers: no lease lapses.
    await this.sweep(settled ? this.leaseSeconds : NO_LEASE_LAPSES);
    await settleQuietReads(this.db, this.turnLog, this.leaseSeconds).catch((error: unknown) =>
      log.warn("the reads of ended turns could not be settled; the next sweep tries again", { error }),
    );
  }

  /** Ends now the turns `streamIds` still active here: a stop that no instance answered for. */
  async recoverNow(streamIds: string[]): Promise<void> {
    await this.sweep(0, streamIds);
  }

  private async sweep(lapsedSeconds: number, only: string[] | null = null): Promise<void> {
    try {
      const lapsed = await claimLapsedTurns(this.db.sql, {
        ownerId: this.ownerId,
        lapsedSeconds,
        running: this.running(),
        only,
      });
      if (this.failing) {
        this.failing = false;
        this.answeredAgainAt = Date.now();
      }
      for (const turn of lapsed) {
        await recoverTurn(this.db, this.turnLog, turn).catch((error: unknown) =>
          log.error("a lapsed turn could not be recovered; the next sweep tries again", { streamId: turn.id, error }),
        );
      }
    } catch (error) {
      this.failing = true;
      log.warn("the sweep for lapsed turns failed", { error });
    }
  }
}
