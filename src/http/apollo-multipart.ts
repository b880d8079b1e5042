import type { ExecutionResult, GraphQLFormattedError } from "graphql";
import { isAsyncIterable, type Plugin } from "graphql-yoga";
import { log } from "../log.ts";

// Apollo Client's parser splits the body on "\r\n--" + boundary, reads each
// part's headers up to "\r\n\r\n", and stops at a boundary followed by "--".
const BOUNDARY = "-";
const DELIMITER = `\r\n--${BOUNDARY}`;
const PART_HEAD = "\r\ncontent-type: application/json\r\n\r\n";
const HEARTBEAT = "{}";

/**
 * Serves subscriptions in Apollo's multipart HTTP protocol
 * (`accept: multipart/mixed;subscriptionSpec=1.0`), which Apollo Client's
 * HttpLink uses and Yoga no longer serves (it answers 406): every event as
 * `{"payload": {data, errors}}`, a `{}` heartbeat every `heartbeatMs`, and
 * a failure of the stream itself as `{"payload": null, "errors": [...]}`.
 * A client that goes away ends the subscription as SSE does (return()).
 * Clients that accept text/event-stream keep getting SSE.
 */
export function useApolloMultipartSubscriptions(options: { heartbeatMs?: number } = {}): Plugin {
  const heartbeatMs = options.heartbeatMs ?? 5000;
  const subscriptions = new WeakSet<Request>();
  return {
    onSubscribe({ args }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (request) subscriptions.add(request);
    },
    onResultProcess({ request, resultProcessor, setResultProcessor }) {
      if (resultProcessor || !subscriptions.has(request) || !acceptsApolloMultipart(request)) return;
      setResultProcessor((result, fetchAPI) => multipartResponse(result, fetchAPI, heartbeatMs), "multipart/mixed");
    },
  };
}

/** True when the Accept header lists multipart/mixed with Apollo's subscriptionSpec parameter. */
export function acceptsApolloMultipart(request: Request): boolean {
  const accept = request.headers.get("accept") ?? "";
  return accept.split(",").some((range) => {
    const [type, ...params] = range.split(";").map((piece) => piece.trim().toLowerCase());
    return type === "multipart/mixed" && params.some((param) => /^subscriptionspec=("?)1\.0\1$/.test(param));
  });
}

type ResultProcessorInput = ExecutionResult | ExecutionResult[] | AsyncIterable<ExecutionResult>;
type FetchAPI = { Response: typeof Response; ReadableStream: typeof ReadableStream; TextEncoder: typeof TextEncoder };

function multipartResponse(result: ResultProcessorInput, fetchAPI: FetchAPI, heartbeatMs: number): Response {
  const encoder = new fetchAPI.TextEncoder();
  const part = (json: string) => encoder.encode(`${PART_HEAD}${json}${DELIMITER}`);
  const iterator = eventsOf(result);
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const finish = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    clearInterval(heartbeat);
    controller.enqueue(encoder.encode("--\r\n"));
    controller.close();
  };
  const body = new fetchAPI.ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(DELIMITER));
      heartbeat = setInterval(() => {
        // null: errored or closed; 0: the client is not reading, a heartbeat would only queue up.
        if ((controller.desiredSize ?? 0) > 0) controller.enqueue(part(HEARTBEAT));
      }, heartbeatMs);
    },
    async pull(controller) {
      let next: IteratorResult<ExecutionResult>;
      try {
        next = await iterator.next();
      } catch (error) {
        log.error("subscription stream failed", { error });
        const errors = [{ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }];
        controller.enqueue(part(JSON.stringify({ payload: null, errors })));
        return finish(controller);
      }
      if (next.value != null) controller.enqueue(part(JSON.stringify({ payload: forTheWire(next.value) })));
      if (next.done) finish(controller);
    },
    async cancel(reason) {
      clearInterval(heartbeat);
      await iterator.return?.(reason);
    },
  });
  return new fetchAPI.Response(body, {
    status: 200,
    headers: {
      "content-type": `multipart/mixed;boundary="${BOUNDARY}";subscriptionSpec="1.0"`,
      "cache-control": "no-cache",
      connection: "keep-alive",
    },
  });
}

function eventsOf(result: ResultProcessorInput): AsyncIterator<ExecutionResult> {
  if (isAsyncIterable(result)) return result[Symbol.asyncIterator]();
  return (async function* () {
    yield* Array.isArray(result) ? result : [result];
  })();
}

/** The result as Yoga's own processors send it: no `http` or `unexpected` extensions. */
function forTheWire(result: ExecutionResult): object {
  if (!result.errors?.length && !result.extensions) return result;
  const { http: _http, ...extensions } = (result.extensions ?? {}) as Record<string, unknown>;
  return {
    ...result,
    errors: result.errors?.map(formatted),
    extensions: Object.keys(extensions).length ? extensions : undefined,
  };
}

function formatted(error: { toJSON?: () => GraphQLFormattedError } & GraphQLFormattedError): GraphQLFormattedError {
  const json = error.toJSON ? error.toJSON() : error;
  if (!json.extensions) return json;
  const { http: _http, unexpected: _unexpected, ...extensions } = json.extensions as Record<string, unknown>;
  return { ...json, extensions: Object.keys(extensions).length ? extensions : undefined };
}
