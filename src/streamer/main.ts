import { parseEnv } from "../config/env.ts";
import { checkSecrets, secretsOf } from "../config/secrets.ts";
import { failStartup } from "../config/startup-error.ts";
import { redactInLogs } from "../log.ts";
import { startStreamer } from "./server.ts";

async function main() {
  const env = parseEnv();
  redactInLogs(secretsOf(env));
  checkSecrets(env, "streamer");
  const streamer = await startStreamer(env, { port: env.STREAMER_PORT ?? 4001, host: env.HOST });
  const model = env.OPENAI_API_KEY ? "OpenAI" : "the offline mock model";
  console.log(`streamer listening on ${streamer.url} (POST /api/chat/stream, ${model})`);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void streamer.close().then(() => process.exit(0));
    });
  }
}

// A setting it cannot start with (a development secret in production, a port taken): one log line, code 1.
await main().catch(failStartup);
