import { createOpenAI, type OpenAIProvider } from "@ai-sdk/openai";
import type { LanguageModel } from "ai";
import type { Env } from "../config/env.ts";
import { createMockModel } from "./mock-model.ts";

export type StreamerModel = Extract<LanguageModel, { specificationVersion: "v4" }>;

/** Chat SDK model ids to OpenAI ones; any other id is taken as an OpenAI model id. */
export const OPENAI_MODEL_IDS: Readonly<Record<string, string>> = {
  "chat-model": "gpt-4o-mini",
  "chat-model-reasoning": "o4-mini",
  "title-model": "gpt-4o-mini",
  "artifact-model": "gpt-4o-mini",
};

const providers = new WeakMap<object, OpenAIProvider>();

export function resolveModel(
  env: Pick<Env, "OPENAI_API_KEY" | "OPENAI_BASE_URL" | "MOCK_DELTA_DELAY_MS">,
  modelId: string,
): StreamerModel {
  if (env.OPENAI_API_KEY === undefined) {
    return createMockModel({ modelId, deltaDelayMs: env.MOCK_DELTA_DELAY_MS });
  }
  let openai = providers.get(env);
  if (!openai) {
    openai = createOpenAI({ apiKey: env.OPENAI_API_KEY, baseURL: env.OPENAI_BASE_URL });
    providers.set(env, openai);
  }
  // Chat Completions rather than Responses: it is what OpenAI-compatible servers speak.
  return openai.chat(OPENAI_MODEL_IDS[modelId] ?? modelId);
}
