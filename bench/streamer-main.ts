// Bench child: the built-in streamer (src/streamer) on 127.0.0.1, port 0.
// Started by bench/turn.ts with MOCK_DELTA_DELAY_MS=0 and no OPENAI_API_KEY.
import { parseEnv } from "../src/config/env.ts";
import { mockModelActivity } from "../src/streamer/mock-model.ts";
import { startStreamer } from "../src/streamer/server.ts";
import { serveParent } from "./child.ts";
import { createTracer } from "./trace.ts";

const env = parseEnv();
if (env.OPENAI_API_KEY !== undefined) throw new Error("the bench streamer runs the offline mock model only");
const streamer = await startStreamer(env, { port: 0, host: "127.0.0.1" });

serveParent(streamer.url, {
  tracer: createTracer({ deltaMarker: '"text-delta"' }),
  handlers: {
    // Mock streams started and not yet completed or cancelled.
    activity: () => ({
      ...mockModelActivity,
      active: mockModelActivity.calls - mockModelActivity.completed - mockModelActivity.cancelled,
    }),
  },
  close: () => streamer.close(),
});
