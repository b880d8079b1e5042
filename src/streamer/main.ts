import { parseEnv } from "../config/env.ts";
import { checkSecrets, secretsOf } from "../config/secrets.ts";
import { redactInLogs } from "../log.ts";
import { startStreamer } from "./server.ts";

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
