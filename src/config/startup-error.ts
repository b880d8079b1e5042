// How a process that cannot start says why: one log line naming the setting at
// fault, and exit code 1 (the gateway's main and the streamer's).
import { ConfigError } from "./env.ts";
import { log } from "../log.ts";

/**
 * A start-up failure that names the setting at fault; `main` logs it as one
 * line and exits with code 1.
 */
export class StartupError extends Error {
  readonly variable: string;
  constructor(variable: string, message: string, cause: unknown) {
    super(message, { cause });
    this.name = "StartupError";
    this.variable = variable;
  }
}

/**
 * A process that cannot start says why in one log line (the setting at fault
 * when it is one) and exits with code 1; under WORKERS the primary then stops
 * the instance with code 1 as well.
 */
export function failStartup(error: unknown): never {
  const message = error instanceof Error ? error.message : String(error);
  log.error(message.replace(/\n\s*/g, " "), {
    ...(error instanceof StartupError ? { variable: error.variable } : {}),
    ...(error instanceof ConfigError ? { variables: error.variables } : {}),
    pid: process.pid,
  });
  process.exit(1);
}
