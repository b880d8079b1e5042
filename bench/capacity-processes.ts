// The processes of `npm run bench:capacity` (bench/capacity.ts): gateways, children, and their cleanup.
import { spawnChild, type BenchChild } from "./children.ts";
import type { Target, User } from "./paced.ts";
import { startGatewayProcess, type GatewayProcess } from "./server-process.ts";
import { baseEnv, type BenchDatabase } from "./setup.ts";
import { children, databases, fail, gateways, settings } from "./capacity-settings.ts";
import { seedHistory } from "./history.ts";

export async function gateway(
  name: string,
  database: BenchDatabase,
  streamerUrl: string,
  extra: Record<string, string>,
  server?: string,
  flags: string[] = [],
) {
  const process_ = await startGatewayProcess(
    name,
    {
      ...baseEnv(),
      ...database.childEnv,
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
      PORT: "0",
      HOST: "127.0.0.1",
      STREAMER_URL: streamerUrl,
      STREAM_MODE: "proxy",
      QUOTA_REGULAR_PER_DAY: "1000000",
      // BENCH_GATEWAY_WORKERS: the paced and sustained gateway's WORKERS (the workers section sets its own).
      WORKERS: process.env.BENCH_GATEWAY_WORKERS ?? "1",
      // Refusals for event-loop delay would measure the other work on this
      // shared machine; MAX_RUNNING_TURNS (the overload section) still applies.
      OVERLOAD_EVENT_LOOP_DELAY_MS: "0",
      ...extra,
    },
    undefined,
    server,
    flags,
  );
  gateways.push(process_);
  // After its start: the gateway's migrations made the tables.
  await seedHistory(database.childEnv.DATABASE_URL, settings.historyChats);
  return process_;
}

export function gatewayTarget(label: string, gw: GatewayProcess): Target {
  return {
    kind: "gateway",
    label,
    url: gw.url,
    cpuMs: gw.cpuMs,
    rssBytes: gw.rssBytes,
    liveHeapBytes: gw.liveHeapBytes,
  };
}

export async function warmUsers(url: string, users: User[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < users.length) {
        const user = users[next++];
        const response = await fetch(`${url}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", authorization: `Bearer ${user.token}` },
          body: JSON.stringify({ query: "{ me { id } }" }),
          signal: AbortSignal.timeout(15_000),
        });
        if (!response.ok) throw new Error(`warm-up query failed: HTTP ${response.status}`);
      }
    }),
  );
}

export async function spawn(name: string, file: string, extra: Record<string, string> = {}): Promise<BenchChild> {
  const child = await spawnChild(name, { file, env: { ...baseEnv(), ...extra }, readyTimeoutMs: 30_000 });
  children.push(child);
  return child;
}

export async function cleanup(): Promise<void> {
  for (const gw of gateways) {
    const code = await gw.stop().catch(() => null);
    if (code !== 0) fail(`a gateway exited with ${code} on SIGTERM`);
  }
  for (const child of children) await child.stop().catch((error) => fail(String(error)));
  for (const database of databases) await database.drop().catch((error) => fail(String(error)));
}
