/**
 * Deterministic offline model, used when OPENAI_API_KEY is not set.
 *
 * A normal prompt takes two steps:
 *   1. reasoning deltas, a short text, and a `getWeather` tool call whose input
 *      arrives as tool-input deltas (finish reason "tool-calls");
 *   2. after the tool ran, a text answer that echoes the last user message
 *      (`You said: "<text>".`) and the tool output, in small deltas (finish "stop").
 * Without the demo tool in the call, only step 2 happens.
 *
 * Magic words in the last user message:
 *   [plain]  one step: the text answer only, no reasoning and no tool call.
 *   [slow]   the answer gets 400 extra deltas, at least 25 ms apart (~10 s),
 *            so a test can stop it mid-way.
 *   [error]  the answer step emits its first deltas, then an error part and
 *            finish reason "error".
 *   [hang]   nothing after stream-start until the call is aborted.
 *   [long] or [long:N]
 *            one step, no reasoning and no tool call: the answer is exactly N
 *            text deltas (default 200, at most 100000) of about 12 characters,
 *            for throughput runs (bench/turn.ts). The usual delay applies per
 *            delta (none with MOCK_DELTA_DELAY_MS=0). [hang] wins over it.
 *   [stamp]  with [long]: each delta's text is the moment it was sent, ` @<ms>`
 *            on the system-wide monotonic clock (process.hrtime), so a client
 *            on the same machine reads each delta's latency (bench/capacity.ts).
 *
 * It takes file URLs as they are (`supportedUrls` matches any), so the SDK
 * downloads no file for it, and reads no file.
 *
 * Usage per step is fixed: tool step 40 in (8 cached) / 24 out (12 reasoning);
 * answer step 60 in (8 cached) / 20 out (0 reasoning).
 */
import { setTimeout as sleep } from "node:timers/promises";
import { MockLanguageModelV4 } from "ai/test";
import { DEMO_TOOL_NAME } from "./tools.ts";

type CallOptions = Parameters<MockLanguageModelV4["doStream"]>[0];
type StreamPart =
  Awaited<ReturnType<MockLanguageModelV4["doStream"]>>["stream"] extends ReadableStream<infer P> ? P : never;
type Prompt = CallOptions["prompt"];
type Usage = Extract<StreamPart, { type: "finish" }>["usage"];

const SLOW_MIN_DELAY_MS = 25;
const SLOW_EXTRA_DELTAS = 400;
const HANG = Symbol("hang");
const LONG_DEFAULT_DELTAS = 200;
const LONG_MAX_DELTAS = 100_000;
type ScriptItem = StreamPart | typeof HANG;

const TOOL_STEP_USAGE: Usage = {
  inputTokens: { total: 40, noCache: 32, cacheRead: 8, cacheWrite: undefined },
  outputTokens: { total: 24, text: 12, reasoning: 12 },
};
const ANSWER_STEP_USAGE: Usage = {
  inputTokens: { total: 60, noCache: 52, cacheRead: 8, cacheWrite: undefined },
  outputTokens: { total: 20, text: 20, reasoning: 0 },
};

/** How many mock streams started, ran to the end, or were cancelled/aborted (for tests). */
export const mockModelActivity = { calls: 0, completed: 0, cancelled: 0 };

export function createMockModel(options: { modelId: string; deltaDelayMs: number }): MockLanguageModelV4 {
  return new MockLanguageModelV4({
    provider: "mock",
    modelId: options.modelId,
    // It reads no file, so the SDK must not download any for it: a history
    // file that cannot be fetched would otherwise fail every turn of the chat.
    supportedUrls: { "*/*": [/^/] },
    doStream: async (call) => {
      const userText = lastUserText(call.prompt);
      const delayMs = userText.includes("[slow]")
        ? Math.max(options.deltaDelayMs, SLOW_MIN_DELAY_MS)
        : options.deltaDelayMs;
      const script = buildScript(call, userText, options.modelId);
      return { stream: play(script, delayMs, call.abortSignal, userText.includes("[stamp]")) };
    },
  });
}

function buildScript(call: CallOptions, userText: string, modelId: string): ScriptItem[] {
  const head: StreamPart[] = [
    { type: "stream-start", warnings: [] },
    { type: "response-metadata", id: `mock-response-${mockModelActivity.calls + 1}`, modelId },
  ];
  if (userText.includes("[hang]")) return [...head, HANG];
  const long = longDeltaCount(userText);
  if (long !== null) return [...head, ...longAnswerStep(long)];

  const last = call.prompt.at(-1);
  const offersTool = call.tools?.some((t) => t.type === "function" && t.name === DEMO_TOOL_NAME) ?? false;
  if (last?.role === "tool" || !offersTool || userText.includes("[plain]")) {
    return [...head, ...answerStep(userText, last?.role === "tool" ? toolOutputOf(last) : undefined)];
  }
  return [...head, ...toolStep(userText, call.prompt)];
}

function toolStep(userText: string, prompt: Prompt): StreamPart[] {
  const city = /\bin ([A-Z][\p{L}-]+)/u.exec(userText)?.[1] ?? "Berlin";
  const toolCallId = `call_mock_${countToolCalls(prompt) + 1}`;
  const input = JSON.stringify({ city });
  return [
    { type: "reasoning-start", id: "reasoning-1" },
    ...["The user wants an answer. ", "A weather lookup ", "shows a tool call."].map(
      (delta): StreamPart => ({ type: "reasoning-delta", id: "reasoning-1", delta }),
    ),
    { type: "reasoning-end", id: "reasoning-1" },
    ...textBlock("text-1", `Let me check the weather in ${city}.`),
    { type: "tool-input-start", id: toolCallId, toolName: DEMO_TOOL_NAME },
    ...['{"city":', JSON.stringify(city), "}"].map(
      (delta): StreamPart => ({ type: "tool-input-delta", id: toolCallId, delta }),
    ),
    { type: "tool-input-end", id: toolCallId },
    { type: "tool-call", toolCallId, toolName: DEMO_TOOL_NAME, input },
    { type: "finish", usage: TOOL_STEP_USAGE, finishReason: { unified: "tool-calls", raw: "tool_calls" } },
  ];
}

function answerStep(userText: string, toolOutput: unknown): StreamPart[] {
  const echo = `You said: "${userText}". `;
  const rest = toolOutput === undefined ? "" : describeWeather(toolOutput);
  if (userText.includes("[error]")) {
    return [
      { type: "text-start", id: "text-2" },
      ...deltas("text-2", echo),
      { type: "error", error: new Error("mock model failure ([error] prompt)") },
      { type: "text-end", id: "text-2" },
      { type: "finish", usage: ANSWER_STEP_USAGE, finishReason: { unified: "error", raw: "error" } },
    ];
  }
  const filler = userText.includes("[slow]")
    ? Array.from({ length: SLOW_EXTRA_DELTAS }, (_, i) => ` Part ${i + 1} of a long answer.`).join("")
    : "";
  return [
    ...textBlock("text-2", echo + rest + filler),
    { type: "finish", usage: ANSWER_STEP_USAGE, finishReason: { unified: "stop", raw: "stop" } },
  ];
}

/** N of `[long:N]`, the default for `[long]`, or null without the magic word. */
function longDeltaCount(userText: string): number | null {
  const match = /\[long(?::(\d+))?\]/.exec(userText);
  if (!match) return null;
  const count = match[1] === undefined ? LONG_DEFAULT_DELTAS : Number(match[1]);
  return Math.min(Math.max(count, 1), LONG_MAX_DELTAS);
}

function longAnswerStep(count: number): StreamPart[] {
  return [
    { type: "text-start", id: "text-2" },
    ...Array.from(
      { length: count },
      (_, i): StreamPart => ({ type: "text-delta", id: "text-2", delta: ` token${String(i + 1).padStart(6, "0")}` }),
    ),
    { type: "text-end", id: "text-2" },
    { type: "finish", usage: ANSWER_STEP_USAGE, finishReason: { unified: "stop", raw: "stop" } },
  ];
}

function textBlock(id: string, text: string): StreamPart[] {
  return [{ type: "text-start", id }, ...deltas(id, text), { type: "text-end", id }];
}

/** Word-boundary pieces of about 12 characters, like a real token stream. */
function deltas(id: string, text: string): StreamPart[] {
  const pieces: string[] = [];
  let current = "";
  for (const word of text.match(/\s*\S+\s*/g) ?? []) {
    current += word;
    if (current.length >= 12) {
      pieces.push(current);
      current = "";
    }
  }
  if (current !== "") pieces.push(current);
  return pieces.map((delta) => ({ type: "text-delta", id, delta }));
}

function describeWeather(output: unknown): string {
  const o = output as { city?: unknown; condition?: unknown; temperatureC?: unknown };
  return typeof o?.city === "string"
    ? `The weather in ${o.city} is ${String(o.condition)} at ${String(o.temperatureC)}°C.`
    : `The tool said: ${JSON.stringify(output)}.`;
}

function lastUserText(prompt: Prompt): string {
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i];
    if (message.role !== "user") continue;
    return message.content.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n");
  }
  return "";
}

function toolOutputOf(message: Prompt[number]): unknown {
  if (message.role !== "tool") return undefined;
  for (const part of message.content) {
    if (part.type !== "tool-result") continue;
    if (part.output.type === "json" || part.output.type === "text") return part.output.value;
  }
  return undefined;
}

// Unique tool call ids across the whole chat, so stored turns never collide.
function countToolCalls(prompt: Prompt): number {
  let count = 0;
  for (const message of prompt) {
    if (message.role === "assistant") count += message.content.filter((p) => p.type === "tool-call").length;
  }
  return count;
}

function play(
  script: ScriptItem[],
  delayMs: number,
  abortSignal: AbortSignal | undefined,
  stamped = false,
): ReadableStream<StreamPart> {
  mockModelActivity.calls++;
  const stop = new AbortController();
  const signal = abortSignal ? AbortSignal.any([stop.signal, abortSignal]) : stop.signal;
  let index = 0;
  let settled = false;
  const settle = (outcome: "completed" | "cancelled") => {
    if (settled) return;
    settled = true;
    mockModelActivity[outcome]++;
  };

  return new ReadableStream<StreamPart>({
    async pull(controller) {
      const item = script[index++];
      if (item === HANG) {
        if (!signal.aborted) await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
      } else if (item !== undefined && delayMs > 0 && (item.type.endsWith("-delta") || item.type === "error")) {
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      }
      if (signal.aborted) {
        settle("cancelled");
        controller.error(abortSignal?.reason ?? new DOMException("aborted", "AbortError"));
      } else if (item === undefined) {
        settle("completed");
        controller.close();
      } else if (stamped && item !== HANG && item.type === "text-delta") {
        controller.enqueue({ ...item, delta: ` @${(Number(process.hrtime.bigint()) / 1e6).toFixed(3)}` });
      } else if (item !== HANG) {
        controller.enqueue(item);
      }
    },
    cancel() {
      settle("cancelled");
      stop.abort();
    },
  });
}
