import { tool } from "ai";
import { z } from "zod";

export const DEMO_TOOL_NAME = "getWeather";

// Deterministic so tests and benchmarks can assert on the output; no network.
export const streamerTools = {
  [DEMO_TOOL_NAME]: tool({
    description: "Get the current weather for a city.",
    inputSchema: z.object({ city: z.string().min(1).max(100) }),
    execute: async ({ city }) => ({ city, condition: "sunny", temperatureC: 21 }),
  }),
};
