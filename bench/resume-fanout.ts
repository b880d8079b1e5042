// bench/capacity.ts, section `resume`: one paced turn, its sender alone and
// then with N resumeStream subscribers (afterSeq null) read by the load
// children; each delta's latency for the sender and for the resumers (the
// deltas sent after they subscribed).
import { randomUUID } from "node:crypto";
import type { ResumeRow } from "./capacity-report.ts";
import { gatewaySpec, openStream, resumeSpec } from "./client.ts";
import { openSpread, pacedPrompt, type Loaders, type User } from "./paced.ts";
import { percentile } from "./stats.ts";

export interface ResumeSettings {
  resumers: number[];
  deltas: number;
  progress(message: string): void;
  fail(problem: string): void;
}

export async function measureResume(
  url: string,
  loaders: Loaders,
  user: User,
  { resumers: counts, deltas, progress, fail }: ResumeSettings,
): Promise<ResumeRow[]> {
  const rows: ResumeRow[] = [];
  for (const resumers of [0, ...counts, 0]) {
    progress(`resume: one paced turn with ${resumers} resumers`);
    const chatId = randomUUID();
    const sender = openStream(gatewaySpec(url, user.token, pacedPrompt(deltas), 120_000, chatId));
    await sender.stepped;
    const specs = Array.from({ length: resumers }, () => resumeSpec(url, user.token, chatId, 120_000));
    const [own, resumed] = await Promise.all([sender.done, openSpread(loaders, specs, 1_000)]);
    if (own.status !== "finished") fail(`resume sender: ${own.detail}`);
    const ended = resumed.filter((r) => r.status === "finished").length;
    for (const r of resumed) if (r.status !== "finished") fail(`resumer: ${r.status} ${r.detail}`);
    const live = resumed.flatMap((r) => r.latencies);
    rows.push({
      resumers,
      senderP50: percentile(own.latencies, 50),
      senderP99: percentile(own.latencies, 99),
      resumerP50: percentile(live, 50),
      resumerP99: percentile(live, 99),
      finished: ended,
      liveDeltas: live.length,
    });
  }
  return rows;
}
