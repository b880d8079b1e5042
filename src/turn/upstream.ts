// The POST to the streamer. undici's `request` on a shared keep-alive Agent with
// a Node stream body measured faster than global fetch.
import type { Readable } from "node:stream";
import { Agent, request } from "undici";
import { codeOf } from "../errors.ts";
import { UpstreamBody } from "./upstream-body.ts";

/**
 * Chat SDK codes for a streamer failure. `offline:chat`: nothing usable came
 * back (unreachable, timed out, 5xx, a refused internal token, a broken or
 * malformed stream) - the user can only retry. `bad_request:api`: the streamer
 * refused the request itself (400, 413, 422). `rate_limit:chat`: it answered 429.
 */
export type UpstreamErrorCode = "offline:chat" | "bad_request:api" | "rate_limit:chat";

export type UpstreamErrorKind =
  | "unreachable"
  | "first-byte-timeout"
  | "status"
  | "not-a-stream"
  | "connection-lost"
  | "idle-timeout"
  | "malformed"
  | "too-large";

export class UpstreamError extends Error {
  readonly code: UpstreamErrorCode;
  readonly kind: UpstreamErrorKind;
  /** The streamer's HTTP status, when it answered. */
  readonly status: number | null;

  /** `detail` (the message) is for the log only: it may hold the streamer's address and error body. */
  constructor(
    code: UpstreamErrorCode,
    kind: UpstreamErrorKind,
    detail: string,
    options: { status?: number; cause?: unknown } = {},
  ) {
    super(detail, { cause: options.cause });
    this.name = "UpstreamError";
    this.code = code;
    this.kind = kind;
    this.status = options.status ?? null;
  }
}

export type OpenUpstreamOptions = {
  url: string;
  /** Serialised as JSON. */
  body: unknown;
  /** The internal JWT, sent as `Authorization: Bearer`. */
  token: string;
  signal?: AbortSignal;
  connectTimeoutMs?: number;
  /** Until the response headers arrive. */
  firstByteTimeoutMs?: number;
  /** The longest wait for a non-2xx answer's error body, which is read for the log. */
  idleTimeoutMs?: number;
  /** A body stream made beforehand (see UpstreamBody), to attach the response to and return. */
  into?: UpstreamBody;
};

// Agent keeps one keep-alive pool per origin; the connect timeout is an Agent
// setting, hence one Agent per timeout value (in practice one).
const agents = new Map<number, Agent>();

function agentFor(connectTimeoutMs: number): Agent {
  let agent = agents.get(connectTimeoutMs);
  if (agent === undefined) {
    agent = new Agent({ connect: { timeout: connectTimeoutMs } });
    agents.set(connectTimeoutMs, agent);
  }
  return agent;
}

/** Closes the shared keep-alive connections (shutdown, tests). */
export async function closeUpstreamAgents(): Promise<void> {
  const closing = [...agents.values()].map((agent) => agent.close());
  agents.clear();
  await Promise.all(closing);
}

/**
 * POSTs the turn to the streamer and resolves with the SSE body once a 2xx
 * event-stream answer starts. Rejects with UpstreamError, or with the signal's
 * reason when aborted. Idle time within the body is for readChunks to judge.
 */
export async function openUpstream(options: OpenUpstreamOptions): Promise<UpstreamBody> {
  const {
    url,
    body,
    token,
    signal,
    connectTimeoutMs = 10_000,
    firstByteTimeoutMs = 30_000,
    idleTimeoutMs = 60_000,
  } = options;
  signal?.throwIfAborted();
  let response: Awaited<ReturnType<typeof request>>;
  try {
    response = await request(url, {
      method: "POST",
      dispatcher: agentFor(connectTimeoutMs),
      headers: {
        "content-type": "application/json",
        accept: "text/event-stream",
        authorization: `Bearer ${token}`,
      },
      body: JSON.stringify(body),
      signal,
      headersTimeout: firstByteTimeoutMs,
      // A 2xx body's silences are readChunks' to judge (keep-alive comments
      // count, a paused body does not); an error body's, errorDetail's.
      bodyTimeout: 0,
    });
  } catch (error) {
    signal?.throwIfAborted();
    throw requestError(error, url, firstByteTimeoutMs);
  }

  const { statusCode, headers, body: stream } = response;
  if (statusCode < 200 || statusCode > 299) {
    const detail = await errorDetail(stream, idleTimeoutMs);
    signal?.throwIfAborted();
    throw new UpstreamError(
      codeForStatus(statusCode),
      "status",
      `streamer answered HTTP ${statusCode}${detail === "" ? "" : `: ${detail}`}`,
      { status: statusCode },
    );
  }
  const contentType = String(headers["content-type"] ?? "");
  if (contentType !== "" && !contentType.includes("text/event-stream")) {
    discard(stream);
    throw new UpstreamError(
      "offline:chat",
      "not-a-stream",
      `streamer answered HTTP ${statusCode} with ${contentType}, not text/event-stream`,
      { status: statusCode },
    );
  }
  const into = options.into ?? new UpstreamBody();
  into.attach(stream);
  return into;
}

function codeForStatus(status: number): UpstreamErrorCode {
  if (status === 429) return "rate_limit:chat";
  if (status === 400 || status === 413 || status === 422) return "bad_request:api";
  // 401/403 mean the gateway's internal token was refused: an operator's
  // problem, and a Chat SDK client would sign the user out on unauthorized:*.
  return "offline:chat";
}

function requestError(error: unknown, url: string, firstByteTimeoutMs: number): UpstreamError {
  const origin = URL.canParse(url) ? new URL(url).origin : url;
  if (codeOf(error) === "UND_ERR_HEADERS_TIMEOUT") {
    return new UpstreamError(
      "offline:chat",
      "first-byte-timeout",
      `streamer at ${origin} did not answer within ${firstByteTimeoutMs} ms`,
      { cause: error },
    );
  }
  return new UpstreamError("offline:chat", "unreachable", `streamer at ${origin} unreachable: ${describe(error)}`, {
    cause: error,
  });
}

const maxDetailBytes = 2048;

/**
 * For the log: the Chat SDK's `{ code, message, cause }` error body, or the
 * start of the text. At most 2 KB is read, within `timeoutMs` in all, since a
 * streamer may never end its error body; the status says enough without it.
 */
async function errorDetail(stream: Readable, timeoutMs: number): Promise<string> {
  const pieces: Buffer[] = [];
  let size = 0;
  const timer = setTimeout(() => stream.destroy(), timeoutMs);
  try {
    for await (const piece of stream as AsyncIterable<Buffer>) {
      pieces.push(piece);
      size += piece.length;
      if (size >= maxDetailBytes) break;
    }
  } catch {
    // the status alone still says what happened
  } finally {
    clearTimeout(timer);
    discard(stream);
  }
  const text = Buffer.concat(pieces).subarray(0, maxDetailBytes).toString("utf8");
  try {
    const parsed: unknown = JSON.parse(text);
    if (typeof parsed === "object" && parsed !== null) {
      const { code, message, cause } = parsed as Record<string, unknown>;
      const parts = [code, message, cause].filter((part) => typeof part === "string" && part !== "");
      if (parts.length > 0) return parts.join(" - ");
    }
  } catch {
    // not JSON
  }
  return text.trim().slice(0, 200);
}

// undici's body reports an early destroy as an 'error' event; unheard, it
// would be an uncaught exception.
function discard(stream: Readable) {
  stream.on("error", () => {});
  stream.destroy();
}

function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // Happy-eyeballs connects fail with an AggregateError whose message is empty.
  const message = error.message || (error instanceof AggregateError ? describe(error.errors[0]) : "");
  const code = codeOf(error);
  return code !== undefined && !message.includes(code) ? `${code} ${message}`.trim() : message || error.name;
}
