// The gateway as a real process (`node src/server.ts`), for what only a process
// shows: a SIGKILL mid-turn and a restart on the same data directory.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import { closedPort } from "./fake-streamer.ts";
import { eventually } from "./sse.ts";

export interface GatewayProcess {
  url: string;
  child: ChildProcess;
  /** What it wrote, for a failing test's message. */
  output(): string;
  kill(signal: NodeJS.Signals): Promise<void>;
}

/** Starts the gateway with `env` (and only PATH/HOME besides), on a free port, once /health answers. */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  const port = await closedPort();
  const child = spawn(process.execPath, ["src/server.ts"], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, HOST: "127.0.0.1", PORT: String(port), LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (data) => (output += data));
  child.stderr!.on("data", (data) => (output += data));
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => {
      if (child.exitCode !== null) throw new Error(`the gateway exited (${child.exitCode}):\n${output}`);
      return (await fetch(`${url}/health`).catch(() => null))?.ok;
      // A loaded CI machine takes this long to start Node and open PGlite.
    }, 120_000);
  } catch (error) {
    child.kill("SIGKILL");
    throw error;
  }
  return {
    url,
    child,
    output: () => output,
    async kill(signal) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, "exit");
      child.kill(signal);
      await exited;
    },
  };
}
