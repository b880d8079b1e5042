import type { Usage } from "../turn/events.ts";
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

const FIELDS = ["inputTokens", "outputTokens", "totalTokens", "reasoningTokens", "cachedInputTokens"] as const;

/** Reads a stored lastContext defensively: rows may predate a field. */
export function usageFromJson(value: unknown): Usage | null {
  if (!value || typeof value !== "object") return null;
  const record = value as Record<string, unknown>;
  const usage = { model: typeof record.model === "string" ? record.model : null } as Usage;
  for (const field of FIELDS) {
    const figure = record[field];
    usage[field] = typeof figure === "number" && Number.isInteger(figure) ? figure : null;
  }
  return usage;
}
