// Bench child: a share of bench/capacity.ts's SSE clients, so that a thousand
// streams are not read by one process (which would measure the client). The
// parent sends the specs; this opens them spread over `rampMs` and answers with
// every stream's result once all have ended.
import { agent, openStream, type StreamResult, type StreamSpec } from "./client.ts";
import { serveParent } from "./child.ts";

export interface OpenArgs {
  specs: StreamSpec[];
  rampMs: number;
}

async function openAll({ specs, rampMs }: OpenArgs): Promise<StreamResult[]> {
  const gap = specs.length > 1 ? rampMs / specs.length : 0;
  const started = performance.now();
  const done: Promise<StreamResult>[] = [];
  for (const [i, spec] of specs.entries()) {
    const wait = started + i * gap - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    done.push(openStream(spec).done);
  }
  return Promise.all(done);
}

serveParent("", {
  handlers: { open: (args) => openAll(args as OpenArgs) },
  close: async () => agent.destroy(),
});
