import { TOKEN_HEADER_KEY, TOKEN_QUERY_KEY } from "graphql-sse";
import type { Plugin } from "graphql-yoga";
import type { IncomingMessage } from "node:http";
import type { Caller } from "../../auth/caller.ts";
import { addressLimitKey } from "../../auth/client-address.ts";
import { ChatSDKError, isChatSDKError } from "../../errors.ts";
import { log } from "../../log.ts";
import { readAtMost } from "../request-size.ts";
import type { EventStreams } from "./event-streams.ts";
import { startOperation } from "./operation-run.ts";
import { RunningOperations } from "./running-operations.ts";
import type { StreamToken, StreamTokens } from "./stream-token.ts";
import { eventStreamResponse } from "./event-stream-response.ts";

// A PUT's token must be used (GET) within this; graphql-sse's client opens at once.
const RESERVATION_MS = 30_000;
const MAX_OPERATIONS = 100;
const MAX_OPERATION_ID = 128;

const NOT_HERE =
  "Event stream not found on this instance: it was closed, or its reservation expired (PUT a new one), or another " +
  "instance reserved it. Serving single-connection mode from more than one instance needs REDIS_URL.";
const GONE = "Event stream not found: it was closed, or its reservation expired. PUT a new one.";

export interface SingleConnectionOptions {
  streams: EventStreams;
  tokens: StreamTokens;
  resolveCaller(request: Request): Promise<Caller>;
  /** The caller's address (a PUT without a token is bounded by it); the socket's by default. */
  clientAddress?(request: Request, serverContext: ServerContext): string;
  maxRequestBytes: number;
  /** The gateway itself (yoga.fetch): each operation runs as a request to /graphql through all its plugins. */
  execute(request: Request, serverContext: ServerContext): Promise<Response> | Response;
  path?: string;
  /** How long a reserved stream may wait for its GET (default 30 s). */
  reservationMs?: number;
  /** Operations running at once on one stream (default 100). */
  maxOperations?: number;
}

type ServerContext = { req?: IncomingMessage };

/**
 * graphql-sse's single-connection mode on /graphql/stream: PUT reserves an
 * event stream (a signed token, see stream-token.ts), GET opens it, POST runs
 * an operation whose results arrive on it, DELETE ?operationId= stops one.
 * Not graphql-sse's handler (nor Yoga's plugin on top of it): it keeps its
 * streams in one process's memory, answers before Yoga's request plugins run,
 * and a throw in a subscription there rejected unhandled. Here each POST runs
 * as a request to /graphql, so it gets everything /graphql enforces, and the
 * stream lives in EventStreams, in Redis when REDIS_URL is set.
 */
export function useSingleConnection(options: SingleConnectionOptions): Plugin<object, ServerContext> {
  const { streams, tokens, resolveCaller, maxRequestBytes, execute, path = "/graphql/stream" } = options;
  const { reservationMs = RESERVATION_MS, maxOperations = MAX_OPERATIONS } = options;
  const addressOf =
    options.clientAddress ?? ((_request: Request, context: ServerContext) => context.req?.socket.remoteAddress ?? "");
  const running = new RunningOperations(streams);

  async function authorize(request: Request, url: URL): Promise<StreamToken | Response> {
    const token = request.headers.get(TOKEN_HEADER_KEY) ?? url.searchParams.get(TOKEN_QUERY_KEY);
    if (!token) {
      return refusal(
        400,
        `Send the ${TOKEN_HEADER_KEY} header a PUT on ${path} returned (for one stream per operation, use /graphql).`,
      );
    }
    const claims = await tokens.verify(token);
    if (!claims) return refusal(401, "This event stream token is not valid here: PUT a new one.");
    const { user, authError } = await resolveCaller(request);
    if ((user?.id ?? "") !== claims.userId) {
      // No token, or a refused (say expired) one, names nobody: the caller must sign in (again), which 403 would not tell.
      if (!user) return refusal(401, (authError ?? new ChatSDKError("unauthorized:chat")).message, "unauthorized:chat");
      return refusal(403, "This event stream was reserved with another user's token.", "forbidden:chat");
    }
    return claims;
  }

  async function reserve(request: Request, serverContext: ServerContext): Promise<Response> {
    const { user, authError } = await resolveCaller(request);
    // A refused token (expired, say) must not quietly reserve an anonymous stream: the
    // client would learn only at its next POST, with its renewed token refused as another user's.
    if (authError) return refusal(401, authError.message, "unauthorized:chat");
    const { token, claims } = await tokens.mint(user?.id ?? "", reservationMs);
    const caller = user ? `user:${user.id}` : `address:${addressLimitKey(addressOf(request, serverContext))}`;
    const reserved = await streams.reserve(claims.id, claims.reservedUntil, caller);
    // Every reservation waiting now is opened or dropped by then.
    const retryAfterSeconds = Math.ceil(reservationMs / 1000);
    const retry = [{ "retry-after": String(retryAfterSeconds) }, { retryable: true, retryAfterSeconds }] as const;
    if (reserved === "full") {
      return refusal(
        503,
        "This instance holds as many event streams as it may. Please try again in a few seconds.",
        "offline:chat",
        ...retry,
      );
    }
    if (reserved === "caller-full") {
      return refusal(
        429,
        "You hold as many event streams as one caller may: close one (or let an unopened one lapse), then try again.",
        "rate_limit:chat",
        ...retry,
      );
    }
    return new Response(token, { status: 201, headers: { "content-type": "text/plain; charset=utf-8" } });
  }

  async function open(claims: StreamToken): Promise<Response> {
    const opened = await streams.open(claims.id, claims.reservedUntil);
    if (opened.kind === "already-open") return refusal(409, "This event stream is already open.");
    if (opened.kind === "gone") return refusal(404, streams.shared ? GONE : NOT_HERE);
    return eventStreamResponse(opened.stream);
  }

  async function run(request: Request, claims: StreamToken, serverContext: ServerContext): Promise<Response> {
    if (!request.headers.get("content-type")?.includes("application/json")) {
      return refusal(415, `Send operations to ${path} as JSON (content-type: application/json).`);
    }
    const body = await readAtMost(request, maxRequestBytes, () => new Error("too large")).catch(() => null);
    if (!body) return refusal(413, `Request body exceeds ${maxRequestBytes} bytes.`);
    const operationId = operationIdOf(body);
    if (!operationId) {
      return refusal(400, `Send extensions.operationId: a string of 1 to ${MAX_OPERATION_ID} characters.`);
    }
    const { id, reservedUntil } = claims;
    if ((await streams.state(id, reservedUntil)) === "gone") return refusal(404, streams.shared ? GONE : NOT_HERE);
    const added = await streams.addOperation(id, operationId, maxOperations);
    if (added === "duplicate") return refusal(409, "An operation with this operationId is already running.");
    if (added === "too-many") return refusal(429, `At most ${maxOperations} operations at once on one stream.`);

    const started = await startOperation({
      execute: async (internal) => execute(internal, { req: serverContext.req }),
      request,
      body,
      operationId,
      send: (frames) => streams.send(id, frames, reservedUntil),
    }).catch((error: unknown) => {
      void streams.removeOperation(id, operationId).catch(() => {});
      throw error;
    });
    if (started.kind === "refused") {
      await streams.removeOperation(id, operationId);
      return started.response;
    }
    running.add(id, reservedUntil, operationId, started.stop);
    void started.done.finally(() => {
      running.remove(id, operationId);
      return streams.removeOperation(id, operationId).catch(() => {});
    });
    return new Response(null, { status: 202 });
  }

  async function cancel(claims: StreamToken, url: URL): Promise<Response> {
    const operationId = url.searchParams.get("operationId");
    if (!operationId) return refusal(400, "Send the operation to stop as ?operationId=.");
    if ((await streams.state(claims.id, claims.reservedUntil)) === "gone") {
      return refusal(404, streams.shared ? GONE : NOT_HERE);
    }
    await streams.cancel(claims.id, operationId);
    return new Response(null, { status: 200 });
  }

  async function handle(request: Request, url: URL, serverContext: ServerContext): Promise<Response> {
    if (request.method === "PUT") return reserve(request, serverContext);
    if (!["GET", "POST", "DELETE"].includes(request.method)) {
      return refusal(405, `${path} takes PUT, GET, POST and DELETE.`, "bad_request:api", {
        allow: "GET, POST, PUT, DELETE",
      });
    }
    const claims = await authorize(request, url);
    if (claims instanceof Response) return claims;
    if (request.method === "GET") return open(claims);
    if (request.method === "DELETE") return cancel(claims, url);
    return run(request, claims, serverContext);
  }

  return {
    async onRequest({ request, url, serverContext, endResponse }) {
      if (url.pathname !== path) return;
      try {
        endResponse(await handle(request, url, serverContext));
      } catch (error) {
        if (isChatSDKError(error)) return endResponse(refusal(503, error.message, error.code));
        log.error("single-connection request failed", { error, method: request.method });
        endResponse(refusal(500, "Unexpected error.", "INTERNAL_SERVER_ERROR"));
      }
    },
  };
}

function operationIdOf(body: Uint8Array): string | null {
  try {
    const params = JSON.parse(Buffer.from(body).toString("utf8")) as { extensions?: { operationId?: unknown } };
    const id = params?.extensions?.operationId;
    return typeof id === "string" && id.length > 0 && id.length <= MAX_OPERATION_ID ? id : null;
  } catch {
    return null;
  }
}

function refusal(
  status: number,
  message: string,
  code = "bad_request:api",
  headers: Record<string, string> = {},
  extensions: Record<string, unknown> = {},
) {
  return Response.json({ errors: [{ message, extensions: { code, ...extensions } }] }, { status, headers });
}
