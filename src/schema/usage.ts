import type { Usage } from "../turn/events.ts";
import { usageOf } from "../usage.ts";
import { builder } from "./builder.ts";

export const UsageRef = builder.objectRef<Usage>("Usage").implement({
  description: "Null where the streamer did not report a figure; never an invented zero.",
  fields: (t) => ({
    inputTokens: t.exposeInt("inputTokens", { nullable: true }),
    outputTokens: t.exposeInt("outputTokens", { nullable: true }),
    totalTokens: t.exposeInt("totalTokens", { nullable: true }),
    reasoningTokens: t.exposeInt("reasoningTokens", { nullable: true }),
    cachedInputTokens: t.exposeInt("cachedInputTokens", { nullable: true }),
    model: t.exposeString("model", { nullable: true }),
  }),
});

/** A stored lastContext, read as any usage report is: rows may predate a field. */
export function usageFromJson(value: unknown): Usage | null {
  return usageOf(value, null);
}
