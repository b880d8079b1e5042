/** How many turns each scenario runs: the numbers, or fewer with --quick. */
export interface Scale {
  upstreamKills: number;
  clientDisconnects: number;
  hostileTurns: number;
  hostileChunksPerTurn: number;
  faultTurns: number;
}

export const FULL: Scale = {
  upstreamKills: 100,
  clientDisconnects: 50,
  hostileTurns: 50,
  hostileChunksPerTurn: 200,
  faultTurns: 5,
};
export const QUICK: Scale = {
  upstreamKills: 20,
  clientDisconnects: 10,
  hostileTurns: 10,
  hostileChunksPerTurn: 100,
  faultTurns: 3,
};

/** Runs `work` `count` times, at most `width` at once. */
export async function inBatches(count: number, width: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, count) }, lane));
}
