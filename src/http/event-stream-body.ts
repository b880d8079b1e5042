import type { ServerResponse } from "node:http";
import { Readable } from "node:stream";
import type { ExecutionResult } from "graphql";
import { isAsyncIterable, processRegularResult, type Plugin } from "graphql-yoga";
import { isAbort, masked } from "./stream-errors.ts";
import { unmappedStream } from "./unmapped-streams.ts";

const PING = ":\n\n";
const COMPLETE = "event: complete\ndata:\n\n";

type FetchAPI = { Response: typeof Response };

/**
 * Writes subscriptions over SSE (graphql-sse's distinct-connections
 * protocol) as Yoga's own processor does, byte for byte: a `:` comment
 * first and every 12 s, each result as `event: next`, then `event: complete`.
 * Yoga's processor passes every event through a web ReadableStream (two
 * encoded chunks and a pull promise an event) that @whatwg-node pipes into
 * the socket through a Node stream; here each event is one string pushed
 * into the Node stream it pipes (BENCHMARKS.md, "What was tried").
 *
 * It takes over only where Yoga chose its SSE processor for a stream
 * (`onServe`: for tests, told each time, and whether it reads the stream unmapped).
 */
export function useEventStreamBody(options: { onServe?: (unmapped: boolean) => void } = {}): Plugin {
  return {
    onResultProcess({ request, result, resultProcessor, setResultProcessor }) {
      if (!isAsyncIterable(result) || resultProcessor?.name !== "processSSEResult") return;
      const unmapped = unmappedStream(request);
      const stream = unmapped ?? result;
      options.onServe?.(unmapped !== undefined);
      setResultProcessor(
        (_result, fetchAPI) => eventStreamResponse(stream as AsyncIterable<ExecutionResult>, fetchAPI as FetchAPI),
        "text/event-stream",
      );
    },
  };
}

function eventStreamResponse(stream: AsyncIterable<ExecutionResult>, fetchAPI: FetchAPI): Response {
  // A Node Readable is a body @whatwg-node's Response takes, and its server pipes it into the response.
  return new fetchAPI.Response(new EventStreamBody(stream, fetchAPI) as unknown as BodyInit, {
    status: 200,
    headers: {
      "Content-Type": "text/event-stream",
      Connection: "keep-alive",
      "Cache-Control": "no-cache",
      "Content-Encoding": "none",
    },
  });
}

class EventStreamBody extends Readable {
  private readonly results: AsyncIterator<ExecutionResult>;
  private readonly fetchAPI: FetchAPI;
  private ping: NodeJS.Timeout | undefined;
  private started = false;
  private wanted: (() => void) | null = null;
  /** The response this body writes into directly, once piped into one. */
  private sink: ServerResponse | null = null;

  constructor(stream: AsyncIterable<ExecutionResult>, fetchAPI: FetchAPI) {
    super();
    this.results = stream[Symbol.asyncIterator]();
    this.fetchAPI = fetchAPI;
  }

  /**
   * Speed only: piped into a node:http response (as @whatwg-node's server
   * does), each event is written into it directly, without passing through
   * this stream's buffer and a Buffer of its own. Anything else reads a plain Node stream.
   */
  override pipe<T extends NodeJS.WritableStream>(destination: T, options?: { end?: boolean }): T {
    if (this.started || !isServerResponse(destination)) return super.pipe(destination, options);
    this.sink = destination;
    destination.on("drain", () => this.wakePump());
    this.start();
    return destination;
  }

  override _read(): void {
    if (!this.started) {
      this.start();
      return;
    }
    this.wakePump();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.ping);
    this.wanted?.();
    this.results.return?.().catch(() => {});
    callback(error);
  }

  /** From the first read (or the pipe into a response) on: a body never sent (its client gone first) keeps no timer. */
  private start(): void {
    this.started = true;
    // Some browsers hold a response back until its first bytes.
    this.send(PING);
    this.ping = setInterval(
      () => {
        if ((this.sink ? this.sink.writableLength : this.readableLength) === 0) this.send(PING);
      },
      process.env.NODE_ENV === "test" ? 300 : 12_000,
    );
    void this.pump();
  }

  private wakePump(): void {
    const wanted = this.wanted;
    this.wanted = null;
    wanted?.();
  }

  /** Writes `text`; false when the reader wants no more for now. */
  private send(text: string): boolean {
    if (!this.sink) return this.push(text);
    if (this.sink.destroyed) return true;
    return this.sink.write(text);
  }

  private finish(): void {
    clearInterval(this.ping);
    if (!this.sink) this.push(null);
    else if (!this.sink.destroyed) this.sink.end();
  }

  private async pump(): Promise<void> {
    try {
      for (;;) {
        const next = await this.results.next();
        if (this.destroyed) return;
        if (next.done) break;
        const json = this.json(next.value);
        if (!this.send(`event: next\ndata: ${typeof json === "string" ? json : await json}\n\n`)) {
          await new Promise<void>((resolve) => (this.wanted = resolve));
          if (this.destroyed) return;
        }
      }
    } catch (error) {
      if (this.destroyed) return;
      if (isAbort(error)) {
        // The request was given up on (its client gone, mostly): the body ends
        // without `complete`, and without an error no listener would take.
        this.finish();
        return;
      }
      // As Yoga does for a stream that throws: one last result with the error, masked.
      this.send(`event: next\ndata: ${await this.json({ errors: [masked(error) as never] })}\n\n`);
    }
    this.send(COMPLETE);
    this.finish();
  }

  /**
   * Plain results as JSON, at once (speed only: an event's trip through a
   * promise costs it a turn of the microtask queue); errors and extensions
   * through Yoga's own serializer, which drops internals.
   */
  private json(result: ExecutionResult): string | Promise<string> {
    if (!result.errors?.length && !result.extensions) return JSON.stringify(result);
    return processRegularResult(result, this.fetchAPI as never, "application/json").text();
  }
}

function isServerResponse(destination: NodeJS.WritableStream): destination is NodeJS.WritableStream & ServerResponse {
  return typeof (destination as Partial<ServerResponse>).writeHead === "function";
}
