// Section 4 of `npm run bench` (bench/turn.ts): CPU per turn of every process.
import { ownCpuMs, postgresCpu, postgresCpuBetween, type PostgresCpu } from "./cpu.ts";
import { fixed, table } from "./stats.ts";
import { type PathName, type Paths, rotate, runTurn, type Stack } from "./turn-paths.ts";
import { check, LONG_PROMPT, PLAIN_PROMPT, progress, settings, TURN_TIMEOUT_MS } from "./turn-settings.ts";

// ---------------------------------------------------------------- 4. CPU per turn

export const CPU_WARMUP_TURNS = 10;
export const CPU_PROCESSES = ["gateway", "pipe", "streamer", "postgres", "client"] as const;
export type CpuProcess = (typeof CPU_PROCESSES)[number];
export type CpuReading = Record<CpuProcess, number | null>;
export type CpuSnapshot = Record<Exclude<CpuProcess, "postgres">, number> & { postgres: PostgresCpu | null };

export interface CpuRow {
  prompt: string;
  path: PathName;
  turns: number;
  /** CPU ms per turn of each process; null where it could not be read. */
  perTurn: CpuReading;
}

export async function cpuSnapshot(stack: Stack): Promise<CpuSnapshot> {
  const [gateway, pipe, streamer] = await Promise.all(
    [stack.gateway, stack.pipe, stack.streamer].map((child) => child.call<number>("cpu")),
  );
  return { gateway, pipe, streamer, postgres: postgresCpu(), client: ownCpuMs() };
}

export function cpuPerTurn(before: CpuSnapshot, after: CpuSnapshot, turns: number): CpuReading {
  const postgres = postgresCpuBetween(before.postgres, after.postgres);
  return {
    gateway: (after.gateway - before.gateway) / turns,
    pipe: (after.pipe - before.pipe) / turns,
    streamer: (after.streamer - before.streamer) / turns,
    postgres: postgres === null ? null : postgres / turns,
    client: (after.client - before.client) / turns,
  };
}

/**
 * Sequential turns in blocks per path (CPU counters cannot tell interleaved
 * paths apart), each block after a few unmeasured turns. Every process is
 * read around every block, so a process that should be idle shows it.
 */
export async function measureCpu(paths: Paths): Promise<CpuRow[]> {
  const rows: CpuRow[] = [];
  for (const prompt of [PLAIN_PROMPT, LONG_PROMPT]) {
    for (const path of ["gateway", "pipe", "streamer"] as PathName[]) {
      progress(`CPU: ${settings.cpuTurns} sequential ${path} turns of ${prompt.split(" ")[0]}`);
      const expected = prompt === LONG_PROMPT ? settings.longDeltas : undefined;
      const turn = async () =>
        check(await runTurn(paths, path, rotate(paths), prompt, TURN_TIMEOUT_MS), `CPU ${path}`, expected);
      for (let i = 0; i < CPU_WARMUP_TURNS; i++) await turn();
      const before = await cpuSnapshot(paths.stack);
      for (let i = 0; i < settings.cpuTurns; i++) await turn();
      const perTurn = cpuPerTurn(before, await cpuSnapshot(paths.stack), settings.cpuTurns);
      rows.push({ prompt: prompt.split(" ")[0], path, turns: settings.cpuTurns, perTurn });
    }
  }
  return rows;
}

export function cpuTable(rows: CpuRow[]): string {
  const label = { gateway: "gateway", pipe: "byte-pipe proxy", streamer: "streamer direct" };
  const cell = (value: number | null) => (value === null ? "n/a" : fixed(value));
  const ratios = [...new Set(rows.map((row) => row.prompt))].map((prompt) => {
    const gateway = rows.find((row) => row.prompt === prompt && row.path === "gateway")?.perTurn;
    const direct = rows.find((row) => row.prompt === prompt && row.path === "streamer")?.perTurn;
    const own = gateway && gateway.gateway !== null ? gateway.gateway + (gateway.postgres ?? 0) : Number.NaN;
    return `${prompt} ${fixed(own / (direct?.streamer ?? Number.NaN))}`;
  });
  return [
    table(
      `4. CPU per turn, ms (${settings.cpuTurns} sequential turns per path and prompt; user + system time of each process)`,
      ["prompt", "path", "turns", "gateway", "pipe", "streamer", "PostgreSQL", "client"],
      rows.map((row) => [
        row.prompt,
        label[row.path],
        String(row.turns),
        ...CPU_PROCESSES.map((name) => cell(row.perTurn[name])),
      ]),
    ),
    `   gateway + PostgreSQL CPU per turn over the streamer's own (direct) CPU per turn: ${ratios.join(", ")}.`,
    "   PostgreSQL: every local process named postgres, from /proc/<pid>/schedstat (with PGlite, the database is inside the gateway).",
  ].join("\n");
}
