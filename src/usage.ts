// Token usage, read the one way every reader needs it: a streamer's report
// (metadata or a data-usage part), the built-in streamer's metadata, and the
// lastContext stored from them.
import type { Usage } from "./turn/events.ts";

/**
 * Usage from an AI SDK LanguageModelUsage of any streamer version: 5 has flat
 * reasoningTokens/cachedInputTokens, 6 and 7 have input/outputTokenDetails.
 */
export function usageOf(report: unknown, fallbackModel: string | null): Usage | null {
  if (!isRecord(report)) return null;
  const inputDetails = isRecord(report.inputTokenDetails) ? report.inputTokenDetails : {};
  const outputDetails = isRecord(report.outputTokenDetails) ? report.outputTokenDetails : {};
  const figures = {
    inputTokens: tokenCount(report.inputTokens),
    outputTokens: tokenCount(report.outputTokens),
    totalTokens: tokenCount(report.totalTokens),
    reasoningTokens: tokenCount(outputDetails.reasoningTokens) ?? tokenCount(report.reasoningTokens),
    cachedInputTokens: tokenCount(inputDetails.cacheReadTokens) ?? tokenCount(report.cachedInputTokens),
  };
  if (Object.values(figures).every((figure) => figure === null)) return null;
  return { ...figures, model: modelOf(report) ?? fallbackModel };
}

const maxGraphQLInt = 2 ** 31 - 1;

function tokenCount(value: unknown): number | null {
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= maxGraphQLInt ? value : null;
}

/** The model a record names, as `modelId` (AI SDK) or `model`. */
export function modelOf(record: Record<string, unknown>): string | null {
  for (const value of [record.modelId, record.model]) {
    if (typeof value === "string" && value !== "") return value;
  }
  return null;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
