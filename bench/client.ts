// The load client: one streaming POST over a keep-alive node:http agent, read
// as SSE. The same code reads the gateway (graphql-sse `next` events carrying
// ChatStreamEvents) and the streamer or the pipe (AI SDK UI message chunks),
// so both sides pay the same client costs. What each request says: client-specs.ts.
import http from "node:http";
import { clock } from "./trace.ts";

// noDelay reaches net.connect through the agent (AgentOptions' type omits it).
// Idle sockets are dropped after 4 s, before node:http servers' 5 s keep-alive
// timeout, so a request never goes out on a socket the server is closing.
const agentOptions: http.AgentOptions & { noDelay: boolean } = {
  keepAlive: true,
  maxSockets: Infinity,
  noDelay: true,
  timeout: 4_000,
};
export const agent = new http.Agent(agentOptions);

export type StreamKind = "graphql" | "ui";

export interface StreamSpec {
  /** Full URL, e.g. http://127.0.0.1:1234/graphql. */
  url: string;
  headers: Record<string, string>;
  body: string;
  kind: StreamKind;
  timeoutMs: number;
  /** Text deltas carry the streamer's send time ([stamp]): record each one's latency. */
  stamped?: boolean;
}

export interface StreamResult {
  /** finished: StreamFinished / `finish` + end; aborted: stopped (by us or the server); failed: anything else. */
  status: "finished" | "aborted" | "failed";
  detail: string | null;
  /** Stamps on the shared clock (trace.ts): request start, first body byte, first text delta, end. */
  t0: number;
  firstByte: number | null;
  firstDelta: number | null;
  end: number;
  deltas: number;
  /** With `stamped`: ms from the streamer's send to our read, per delta sent after the request started. */
  latencies: number[];
  /** The streamer's send time of each of `latencies`' deltas, on the shared clock. */
  sentAt: number[];
  /** The GraphQL error's extensions, when the stream ended with one. */
  errorCode?: string;
  retryAfterSeconds?: number;
}

export interface StreamHandle {
  done: Promise<StreamResult>;
  /** Resolves on StepStarted / `start-step` (the stream is open upstream). */
  stepped: Promise<void>;
  /** Text deltas received so far. */
  readonly deltas: number;
  /** Closes the connection (a client disconnect); `done` then resolves as aborted. */
  abort(): void;
}

export function openStream(spec: StreamSpec): StreamHandle {
  let deltas = 0;
  let terminal: { status: StreamResult["status"]; detail: string | null } | null = null;
  let firstByte: number | null = null;
  let firstDelta: number | null = null;
  let abortedByUs = false;
  const latencies: number[] = [];
  const sentAt: number[] = [];
  let errorExtensions: { code?: string; retryAfterSeconds?: number } | undefined;
  const stampOf = (text: string | undefined) => {
    const at = clock();
    const stamp = text?.startsWith(" @") ? Number(text.slice(2)) : Number.NaN;
    if (stamp >= t0) {
      latencies.push(at - stamp);
      sentAt.push(stamp);
    }
  };
  let markStepped!: () => void;
  const stepped = new Promise<void>((resolve) => (markStepped = resolve));

  const t0 = clock();
  const url = new URL(spec.url);
  const request = http.request({
    host: url.hostname,
    port: url.port,
    path: url.pathname,
    method: "POST",
    agent,
    headers: {
      ...spec.headers,
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(spec.body)),
    },
  });

  const done = new Promise<StreamResult>((resolve) => {
    let settled = false;
    const finish = (status: StreamResult["status"], detail: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve({
        status,
        detail,
        t0,
        firstByte,
        firstDelta,
        end: clock(),
        deltas,
        latencies,
        sentAt,
        errorCode: errorExtensions?.code,
        retryAfterSeconds: errorExtensions?.retryAfterSeconds,
      });
    };
    const timer = setTimeout(() => {
      finish("failed", `timed out after ${spec.timeoutMs} ms`);
      request.destroy();
    }, spec.timeoutMs);

    const onEvent = spec.kind === "graphql" ? graphqlEvent : uiEvent;
    function graphqlEvent(event: string, data: string) {
      if (event === "complete") return;
      const payload = JSON.parse(data) as {
        data?: Record<string, { __typename?: string; code?: string; reason?: string; delta?: string }> | null;
        errors?: { message: string; extensions?: { code?: string; retryAfterSeconds?: number } }[];
      };
      if (payload.errors?.length) {
        const [error] = payload.errors;
        errorExtensions = error.extensions;
        terminal = { status: "failed", detail: `GraphQL error ${error.extensions?.code ?? ""} ${error.message}` };
        return;
      }
      // sendMessage or resumeStream
      const streamEvent = payload.data ? Object.values(payload.data)[0] : undefined;
      switch (streamEvent?.__typename) {
        case "TextDelta":
          deltas++;
          firstDelta ??= clock();
          if (spec.stamped) stampOf(streamEvent.delta);
          break;
        case "StepStarted":
          markStepped();
          break;
        case "StreamFinished":
          terminal = { status: "finished", detail: null };
          break;
        case "StreamAborted":
          terminal = { status: "aborted", detail: streamEvent.reason ?? null };
          break;
        case "StreamFailed":
          terminal = { status: "failed", detail: `StreamFailed ${streamEvent.code}: ${streamEvent.reason}` };
          break;
        default:
          break;
      }
    }
    function uiEvent(_event: string, data: string) {
      if (data === "[DONE]") return;
      const chunk = JSON.parse(data) as { type?: string; errorText?: string; reason?: string; delta?: string };
      switch (chunk.type) {
        case "text-delta":
          deltas++;
          firstDelta ??= clock();
          if (spec.stamped) stampOf(chunk.delta);
          break;
        case "start-step":
          markStepped();
          break;
        case "finish":
          terminal ??= { status: "finished", detail: null };
          break;
        case "abort":
          terminal = { status: "aborted", detail: chunk.reason ?? null };
          break;
        case "error":
          terminal = { status: "failed", detail: `error chunk: ${chunk.errorText}` };
          break;
        default:
          break;
      }
    }

    request.on("response", (response) => {
      response.setEncoding("utf8");
      if (response.statusCode !== 200) {
        let text = "";
        response.on("data", (piece: string) => (text += piece));
        response.on("end", () => finish("failed", `HTTP ${response.statusCode}: ${text.slice(0, 300)}`));
        response.on("error", () => finish("failed", `HTTP ${response.statusCode}`));
        return;
      }
      let buffer = "";
      response.on("data", (piece: string) => {
        firstByte ??= clock();
        buffer += piece;
        let boundary: number;
        while ((boundary = buffer.indexOf("\n\n")) !== -1) {
          const block = buffer.slice(0, boundary);
          buffer = buffer.slice(boundary + 2);
          let event = "message";
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(line[5] === " " ? 6 : 5));
          }
          if (data.length === 0 && event !== "complete") continue; // keep-alive comment
          try {
            onEvent(event, data.join("\n"));
          } catch (error) {
            terminal = { status: "failed", detail: `unreadable event: ${String(error)}` };
          }
        }
      });
      response.on("end", () => {
        if (abortedByUs) finish("aborted", "closed by the client");
        else if (terminal) finish(terminal.status, terminal.detail);
        else finish("failed", "the stream ended without a terminal event");
      });
      response.on("error", (error) => finish(abortedByUs ? "aborted" : "failed", String(error)));
      response.on("close", () => finish(abortedByUs ? "aborted" : "failed", "connection closed mid-stream"));
    });
    request.on("error", (error) => finish(abortedByUs ? "aborted" : "failed", `request error: ${error.message}`));
  });

  request.end(spec.body);
  return {
    done,
    stepped,
    get deltas() {
      return deltas;
    },
    abort() {
      abortedByUs = true;
      request.destroy();
    },
  };
}

export * from "./client-specs.ts";
