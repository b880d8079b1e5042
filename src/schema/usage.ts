import { builder } from "./builder.ts";

/** Token usage of a turn, as stored in Chat.lastContext. Null where the streamer reported nothing. */
export interface UsageShape {
  inputTokens: number | null;
  outputTokens: number | null;
  totalTokens: number | null;
  reasoningTokens: number | null;
  cachedInputTokens: number | null;
  model: string | null;
}

export const UsageRef = builder.objectRef<UsageShape>("Usage").implement({
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
export function usageFromJson(value: unknown): UsageShape | null {
  if (!value || typeof value !== "object") return null;
  const record = value as Record<string, unknown>;
  const usage = { model: typeof record.model === "string" ? record.model : null } as UsageShape;
  for (const field of FIELDS) {
    const figure = record[field];
    usage[field] = typeof figure === "number" && Number.isInteger(figure) ? figure : null;
  }
  return usage;
}
