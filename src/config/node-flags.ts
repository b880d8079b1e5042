/**
 * The Node (V8) flags a gateway process runs with: `npm start`'s script passes
 * them (a test holds it to this list), README's Dockerfile line too, and the
 * benchmarks start every gateway with them. V8 reads them only from the
 * command line, not from NODE_OPTIONS nor once the process runs.
 *
 * `--no-memory-reducer`: V8's memory reducer runs full, memory-shrinking
 * collections when allocation slows, which for a gateway means every lull
 * between bursts of turns; the next burst then pays for it in CPU and in
 * latency (BENCHMARKS.md, "What was tried").
 */
export const GATEWAY_NODE_FLAGS: readonly string[] = ["--no-memory-reducer"];

/** The flags of GATEWAY_NODE_FLAGS this process was started without (a worker inherits its primary's). */
export function missingNodeFlags(execArgv: readonly string[] = process.execArgv): string[] {
  return GATEWAY_NODE_FLAGS.filter((flag) => !execArgv.includes(flag));
}

/** For the "gateway ready" log line: the flags in use, or which are missing. */
export function nodeFlagsNote(): string {
  const missing = missingNodeFlags();
  if (missing.length === 0) return GATEWAY_NODE_FLAGS.join(" ");
  return `started without ${missing.join(" ")} (README, "Node flags")`;
}
