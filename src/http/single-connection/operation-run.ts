import { TOKEN_HEADER_KEY } from "graphql-sse";
import { log } from "../../log.ts";

// What an operation's results look like on the event stream: graphql-sse's
// framing (its `print`), built around Yoga's JSON as it is, without parsing it again.
export const nextFrame = (id: string, payload: string) => `event: next\ndata: {"id":${id},"payload":${payload}}\n\n`;
export const completeFrame = (id: string) => `event: complete\ndata: {"id":${id}}\n\n`;
const FAILED = JSON.stringify({
  errors: [{ message: "Unexpected error.", extensions: { code: "INTERNAL_SERVER_ERROR" } }],
});

export type OperationStart =
  | { kind: "accepted"; stop: () => void; done: Promise<void> }
  /** Yoga refused the request as a whole (CSRF, size, a bad body...): its answer, for the POST. */
  | { kind: "refused"; response: Response };

/**
 * Runs an operation POSTed for an event stream as a POST to /graphql with
 * `accept: text/event-stream`, through Yoga's whole pipeline (auth, armour,
 * persisted-only mode, CSRF, masked errors, size), and sends each of its SSE
 * events to the stream under the operation's id. stop() ends it as a client
 * disconnect ends it on /graphql: the request's signal fires and the
 * subscription is returned (a sendMessage turn goes on, resumable).
 * Whatever fails here ends in an error result and `complete`, never a throw.
 */
export async function startOperation(options: {
  execute: (request: Request) => Promise<Response>;
  request: Request;
  body: Buffer;
  operationId: string;
  send: (frames: string) => void;
}): Promise<OperationStart> {
  const { request, operationId, send } = options;
  const aborted = new AbortController();
  const headers = new Headers(request.headers);
  headers.delete(TOKEN_HEADER_KEY);
  headers.delete("content-length");
  headers.set("accept", "text/event-stream");
  const graphqlUrl = new URL("/graphql", request.url);
  const response = await options.execute(
    new Request(graphqlUrl, { method: "POST", headers, body: new Uint8Array(options.body), signal: aborted.signal }),
  );
  const eventStream = response.headers.get("content-type")?.startsWith("text/event-stream");
  if (!response.ok || !response.body || !eventStream) {
    return { kind: "refused", response: eventStream ? await asJson(response) : response };
  }

  const reader = response.body.getReader();
  const id = JSON.stringify(operationId);
  let stopped = false;
  let completed = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    // As graphql-sse's own server does: a client's DELETE ends the operation with `complete`.
    if (!completed) send(completeFrame(id));
    aborted.abort();
    reader.cancel().catch(() => {});
  };
  const forwarded = (frames: string) => {
    if (stopped) return;
    if (frames.endsWith(completeFrame(id))) completed = true;
    send(frames);
  };
  const done = forward(reader, id, forwarded).catch((error: unknown) => {
    if (stopped) return;
    log.error("single-connection operation failed", { error });
    completed = true;
    send(nextFrame(id, FAILED) + completeFrame(id));
  });
  return { kind: "accepted", stop, done };
}

/** Re-frames Yoga's `next` and `complete` events with the operation's id; drops its pings. */
async function forward(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  id: string,
  send: (frames: string) => void,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let frames = "";
    let end = buffer.indexOf("\n\n");
    while (end !== -1) {
      const { event, data } = parseBlock(buffer.slice(0, end));
      buffer = buffer.slice(end + 2);
      end = buffer.indexOf("\n\n");
      if (event === "next") frames += nextFrame(id, data);
      else if (event === "complete") {
        send(frames + completeFrame(id));
        return;
      }
    }
    if (frames) send(frames);
  }
  // Yoga ends every stream with `complete`; a body cut short still gets one.
  send(completeFrame(id));
}

/**
 * Yoga answers a request it refuses as a whole (a bad body) in the format the
 * request accepted, here an event stream; the POST's answer is the protocol's
 * JSON, so its errors are re-sent as `{"errors": [...]}` with the same status.
 */
async function asJson(response: Response): Promise<Response> {
  const blocks = (await response.text()).split("\n\n").map(parseBlock);
  const data = blocks.find((block) => block.event === "next")?.data ?? FAILED;
  return new Response(data, {
    status: response.status,
    headers: { "content-type": "application/json; charset=utf-8" },
  });
}

function parseBlock(block: string): { event: string; data: string } {
  let event = "";
  const data: string[] = [];
  for (const line of block.split("\n")) {
    if (line.startsWith("event:")) event = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  return { event, data: data.join("\n") };
}
