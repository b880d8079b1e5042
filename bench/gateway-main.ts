// Bench child: the gateway exactly as `npm start` runs it (startGateway from
// src/server.ts), on 127.0.0.1 port 0, in front of the bench's streamer
// (STREAMER_URL). The parent sets DATABASE_URL (a fresh database) or DATA_DIR
// (a fresh PGlite directory), the secrets, raised quotas and LOG_LEVEL=silent.
import { parseEnv } from "../src/config/env.ts";
import { setLogLevel } from "../src/log.ts";
import { startGateway } from "../src/server.ts";
import { serveParent } from "./child.ts";
import { createTracer } from "./trace.ts";

const env = parseEnv();
if (!env.STREAMER_URL?.startsWith("http://127.0.0.1:"))
  throw new Error("the bench gateway needs a 127.0.0.1 STREAMER_URL");
setLogLevel(env.LOG_LEVEL);
const gateway = await startGateway(env);

serveParent(gateway.url, {
  tracer: createTracer({ deltaMarker: '"TextDelta"' }),
  close: () => gateway.close(),
});
