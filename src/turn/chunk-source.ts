import { setImmediate as nextCheckPhase } from "node:timers/promises";
import type { UIMessage, UIMessageChunk } from "ai";
import { signInternalToken } from "../auth/internal-token.ts";
import type { Env } from "../config/env.ts";
import { streamChatTurn } from "../streamer/turn.ts";
import { readChunks } from "./chunk-stream.ts";
import type { PreparedTurn } from "./prepare.ts";
import { ChunkRepair } from "./storable-chunks.ts";
import { UpstreamBody } from "./upstream-body.ts";
import { openUpstream, UpstreamError } from "./upstream.ts";

/** Where a turn's UI message chunks come from. */
export interface ChunkSource {
  /** The turn's chunks; stops when `signal` aborts. */
  open(turn: PreparedTurn, signal: AbortSignal): AsyncIterable<UIMessageChunk>;
  /** Called while the turn is being prepared, to get ready alongside the database work. */
  warm(userId: string, chatId: string): void;
}

/**
 * The seed's payload for POST /api/chat/stream. The chat's history moves from
 * the turn into it: it is the largest thing a turn holds, nothing reads it
 * past the request, and a running turn would otherwise keep it to its end.
 */
export function streamerPayload(turn: PreparedTurn) {
  const existingMessages = turn.existingMessages;
  turn.existingMessages = [];
  return {
    id: turn.chat.id,
    message: { id: turn.userMessage.id, role: "user", parts: turn.userMessage.parts } as UIMessage,
    selectedChatModel: turn.selectedChatModel,
    selectedVisibilityType: turn.chat.visibility,
    existingMessages,
  };
}

/** Proxy mode: the streamer (a Next.js route running the AI SDK, or the built-in one) over HTTP. */
export function proxySource(env: Env, streamerUrl: string): ChunkSource {
  const url = new URL("/api/chat/stream", streamerUrl).toString();
  const sign = (userId: string, chatId: string) => signInternalToken(env.NEXTJS_INTERNAL_TOKEN, { userId, chatId });
  return {
    // Signing (async WebCrypto) overlaps the turn's first statement; open() reuses the token.
    warm: (userId, chatId) => void sign(userId, chatId).catch(() => {}),
    open: (turn, signal) => proxyChunks(env, url, turn, signal, sign(turn.user.id, turn.chat.id)),
  };
}

async function* proxyChunks(
  env: Env,
  url: string,
  turn: PreparedTurn,
  signal: AbortSignal,
  signing: Promise<string>,
): AsyncGenerator<UIMessageChunk> {
  const token = await signing;
  const body = new UpstreamBody();
  const opening = openUpstream({
    url,
    body: streamerPayload(turn),
    token,
    signal,
    connectTimeoutMs: env.UPSTREAM_CONNECT_TIMEOUT_MS,
    firstByteTimeoutMs: env.UPSTREAM_FIRST_BYTE_TIMEOUT_MS,
    idleTimeoutMs: env.UPSTREAM_IDLE_TIMEOUT_MS,
    into: body,
  });
  opening.catch(() => {}); // awaited below, after a tick
  // Speed only: the parse pipeline (web-stream setup) is built while the
  // streamer works, not after its headers arrive; but only once undici has
  // written the request, which it does on a later tick.
  await nextCheckPhase();
  const chunks = readChunks(body, {
    idleTimeoutMs: env.UPSTREAM_IDLE_TIMEOUT_MS,
    maxBytes: env.TURN_MAX_BYTES,
    signal,
  });
  const first = chunks.next();
  // Awaited below; a stop before the answer rejects it while `opening` is pending.
  first.catch(() => {});
  try {
    await opening;
  } catch (error) {
    body.abandon(error);
    throw error;
  }
  const next = await first;
  if (next.done) return;
  yield next.value;
  yield* chunks;
}

/**
 * Direct mode (the seed's Phase 2): the same model code, in this process, with
 * no HTTP hop. The model call is bounded as a streamer is: its first chunk
 * (after the stream's own start chunks) within UPSTREAM_FIRST_BYTE_TIMEOUT_MS
 * (a first-byte-timeout failure), then no silence longer than
 * UPSTREAM_IDLE_TIMEOUT_MS (an idle-timeout failure).
 */
export function directSource(env: Env): ChunkSource {
  return { warm: () => {}, open: (turn, signal) => directChunks(env, turn, signal) };
}

async function* directChunks(env: Env, turn: PreparedTurn, signal: AbortSignal): AsyncGenerator<UIMessageChunk> {
  const payload = streamerPayload(turn);
  const silence = new AbortController();
  const modelSignal = AbortSignal.any([signal, silence.signal]);
  const stream = streamChatTurn({
    env,
    chatId: payload.id,
    message: payload.message,
    existingMessages: payload.existingMessages,
    selectedChatModel: payload.selectedChatModel,
    signal: modelSignal,
  });
  const reader = stream.getReader();
  const onAbort = () => void reader.cancel(modelSignal.reason).catch(() => {});
  modelSignal.addEventListener("abort", onAbort, { once: true });
  const quiet = (ms: number, kind: "first-byte-timeout" | "idle-timeout") => () =>
    silence.abort(new UpstreamError("offline:chat", kind, `the in-process model sent nothing for ${ms} ms`));
  const firstBound = env.UPSTREAM_FIRST_BYTE_TIMEOUT_MS;
  let timer = setTimeout(quiet(firstBound, "first-byte-timeout"), firstBound);
  let first = true;
  const repair = new ChunkRepair();
  try {
    while (true) {
      const next = await reader.read().finally(() => {
        signal.throwIfAborted();
        silence.signal.throwIfAborted();
      });
      if (next.done) return;
      const value = next.value;
      // The stream's own start chunks come before the model has answered anything.
      if (first && value.type !== "start" && value.type !== "start-step") {
        first = false;
        clearTimeout(timer);
        timer = setTimeout(quiet(env.UPSTREAM_IDLE_TIMEOUT_MS, "idle-timeout"), env.UPSTREAM_IDLE_TIMEOUT_MS);
      }
      for (const repaired of repair.repair(value)) yield repaired;
      if (!first) timer.refresh();
    }
  } finally {
    clearTimeout(timer);
    modelSignal.removeEventListener("abort", onAbort);
    reader.releaseLock();
  }
}
