import type { Redis } from "ioredis";
import { log } from "../log.ts";
import { appendEntries, type EntryWrite } from "./redis-log-append.ts";

// How often terminal entries whose write failed are tried again (and at once when Redis is back).
const RETRY_MS = 1_000;
// Redis's answer to an entry it holds already (a write that failed on the way back, not on the way in).
const ALREADY_WRITTEN = /equal or smaller than the target stream top item/;

interface TerminalSettings {
  retentionMs: number;
  maxLength: number;
  enqueue: (work: () => Promise<void>) => void;
  /** A turn's terminal entry is written, or given up on: nothing of it is kept any more. */
  settled: (streamId: string) => void;
}

/**
 * Terminal entries of the turn log that Redis did not take (it was
 * unreachable when the turn ended), by turn, each tried again every second
 * and when the connection is ready again, until it is written or the log's
 * retention has passed: without its terminal, a resumer on another instance
 * would wait for the turn forever.
 */
export class UnwrittenTerminals {
  private readonly entries = new Map<string, { writes: EntryWrite[]; until: number }>();
  private timer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly onReady = () => this.soon(0);
  private readonly commands: Redis;
  private readonly settings: TerminalSettings;

  constructor(commands: Redis, settings: TerminalSettings) {
    this.commands = commands;
    this.settings = settings;
    commands.on("ready", this.onReady);
  }

  /** The turn's terminal entry (last, after the events Redis missed), whose write failed: tried again shortly. */
  keep(streamId: string, writes: EntryWrite[]): void {
    this.entries.set(streamId, { writes, until: Date.now() + this.settings.retentionMs });
    this.soon(RETRY_MS);
  }

  /** The turns whose terminal entry waits to be written again. */
  streamIds(): string[] {
    return [...this.entries.keys()];
  }

  /** Whether the turn's terminal entry waits to be written again. */
  holds(streamId: string): boolean {
    return this.entries.has(streamId);
  }

  /** No more retries on their own (shutdown: one last `retry(false)` may follow). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.commands.off("ready", this.onReady);
  }

  /** Writes the entries kept; those past the retention are dropped. `again`: keep trying the rest. */
  async retry(again: boolean): Promise<void> {
    const now = Date.now();
    for (const [streamId, { until }] of this.entries) {
      if (until <= now) {
        this.entries.delete(streamId);
        this.settings.settled(streamId);
        log.warn("turn log terminal event never written; gave up after the retention", { streamId });
      }
    }
    const turns = [...this.entries];
    if (turns.length === 0) return;
    const writes = turns.flatMap(([, entry]) => entry.writes);
    // Each turn's terminal entry: the last of its writes.
    let at = -1;
    const terminals = turns.map(([, entry]) => (at += entry.writes.length));
    const seconds = Math.max(1, Math.ceil(this.settings.retentionMs / 1000));
    const expiries = new Map(writes.map((write) => [write.key, seconds]));
    let failures: Map<number, unknown>;
    try {
      failures = await appendEntries(this.commands, writes, this.settings.maxLength, expiries);
    } catch (error) {
      failures = new Map(writes.map((_, i) => [i, error]));
    }
    turns.forEach(([streamId], i) => {
      const failure = failures.get(terminals[i]!);
      if (failure === undefined || ALREADY_WRITTEN.test(String(failure))) {
        this.entries.delete(streamId);
        this.settings.settled(streamId);
        log.info("turn log terminal event written after a failed write", { streamId });
      }
    });
    if (again) this.soon(RETRY_MS);
  }

  private soon(ms: number): void {
    if (this.entries.size === 0 || this.stopped) return;
    if (this.timer) {
      if (ms > 0) return;
      clearTimeout(this.timer);
    }
    this.timer = setTimeout(() => {
      this.timer = null;
      this.settings.enqueue(() => this.retry(true));
    }, ms);
    this.timer.unref();
  }
}
