// A small, framework-free client for the gateway: typed requests (queries and
// mutations over fetch) and typed subscriptions (graphql-sse's client against
// /graphql, distinct-connections mode). Every type comes from the generated
// documents in client/generated: pass a document, get its result type.
import type { ResultOf, TypedDocumentNode, VariablesOf } from "@graphql-typed-document-node/core";
import type { DocumentNode, GraphQLFormattedError } from "graphql";
import { createClient, type RequestParams } from "graphql-sse";
import { operationNameOf, persistedHashOf, queryOf } from "./documents.ts";
import { GatewayError } from "./gateway-error.ts";

export type { ResultOf, TypedDocumentNode, VariablesOf };
export { operationNameOf, persistedHashOf } from "./documents.ts";
export { GatewayError } from "./gateway-error.ts";

/** A token, or a function that returns the current one (null when signed out). */
export type TokenSource =
  | string
  | null
  | undefined
  | (() => string | null | undefined | Promise<string | null | undefined>);

export interface GatewayClientOptions {
  /** The GraphQL endpoint, e.g. "http://localhost:4000/graphql" or "/graphql" in a browser. */
  url: string;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: TokenSource;
  /**
   * Send only the persisted document's hash (`extensions.persistedQuery.sha256Hash`),
   * never the query text, as a gateway in PERSISTED_OPERATIONS_ONLY mode requires.
   */
  persisted?: boolean;
  /** Another fetch (tests, React Native, a proxy). */
  fetch?: typeof fetch;
  /** More headers on every request. */
  headers?: Record<string, string>;
}

export interface RequestOptions {
  signal?: AbortSignal;
}

/** Variables may be left out when the operation has none or none is required. */
// biome-ignore lint/complexity/noBannedTypes: `{} extends V` asks whether V has no required key.
export type OperationArgs<V> = {} extends V
  ? [variables?: V, options?: RequestOptions]
  : [variables: V, options?: RequestOptions];

export interface Sink<R> {
  next(data: R): void;
  error?(error: GatewayError): void;
  complete?(): void;
}

export interface GatewayClient {
  readonly url: string;
  readonly persisted: boolean;
  /** Runs a query or mutation; resolves with its typed `data`, rejects with a GatewayError. */
  request<R, V>(document: TypedDocumentNode<R, V>, ...args: OperationArgs<V>): Promise<R>;
  /** `request` for generic callers (hooks): variables as they are. */
  execute<R, V>(document: TypedDocumentNode<R, V>, variables: V | undefined, options?: RequestOptions): Promise<R>;
  /** Subscribes over SSE; returns a function that unsubscribes (closing the connection). */
  subscribe<R, V>(document: TypedDocumentNode<R, V>, variables: V, sink: Sink<R>): () => void;
  /** The same as an async iterator; `break` (or the signal) closes the connection. */
  iterate<R, V>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    options?: RequestOptions,
  ): AsyncGenerator<R, void, undefined>;
  /** Closes every open subscription. */
  dispose(): void;
}

async function resolveToken(token: TokenSource): Promise<string | null | undefined> {
  return typeof token === "function" ? await token() : token;
}

export function createGatewayClient(options: GatewayClientOptions): GatewayClient {
  const { url, persisted = false } = options;
  const fetchFn = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => globalThis.fetch(input, init));

  function paramsOf(document: DocumentNode, variables: unknown): RequestParams {
    const operationName = operationNameOf(document);
    const vars = (variables ?? undefined) as Record<string, unknown> | undefined;
    if (!persisted) return { query: queryOf(document), operationName, variables: vars };
    const hash = persistedHashOf(document);
    if (!hash) throw new Error(`${operationName} is not a persisted document: run npm run codegen.`);
    // No query text at all: the gateway looks the hash up in persisted-documents.json.
    const params: Omit<RequestParams, "query"> = {
      operationName,
      variables: vars,
      extensions: { persistedQuery: { version: 1, sha256Hash: hash } },
    };
    return params as RequestParams;
  }

  async function headers(): Promise<Record<string, string>> {
    const token = await resolveToken(options.token);
    return { ...options.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) };
  }

  const sse = createClient({
    url,
    headers,
    fetchFn,
    // A retried sendMessage would send the message again: never retry.
    retryAttempts: 0,
  });

  async function execute<R, V>(
    document: TypedDocumentNode<R, V>,
    variables: V | undefined,
    init?: RequestOptions,
  ): Promise<R> {
    let response: Response;
    try {
      response = await fetchFn(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/graphql-response+json, application/json",
          ...(await headers()),
        },
        body: JSON.stringify(paramsOf(document, variables)),
        signal: init?.signal,
      });
    } catch (error) {
      if (init?.signal?.aborted) throw error;
      throw GatewayError.from(error);
    }
    let body: { data?: R | null; errors?: GraphQLFormattedError[] };
    try {
      body = (await response.json()) as typeof body;
    } catch {
      throw new GatewayError(
        [
          {
            message:
              response.status === 404
                ? `The gateway answered 404 ${response.statusText}: is ${url} its GraphQL endpoint (…/graphql)?`
                : `The gateway answered ${response.status} ${response.statusText}.`,
          },
        ],
        response.status,
      );
    }
    if (body.errors?.length) throw new GatewayError(body.errors, response.status);
    if (body.data == null) throw new GatewayError([{ message: "The gateway answered without data." }], response.status);
    return body.data;
  }

  function subscribe<R, V>(document: TypedDocumentNode<R, V>, variables: V, sink: Sink<R>): () => void {
    let params: RequestParams;
    try {
      params = paramsOf(document, variables);
    } catch (error) {
      sink.error?.(GatewayError.from(error));
      return () => {};
    }
    let closed = false;
    const dispose = sse.subscribe<R>(params, {
      next(result) {
        if (closed) return;
        if (result.errors?.length) {
          closed = true;
          dispose();
          sink.error?.(new GatewayError(result.errors));
        } else if (result.data != null) {
          sink.next(result.data);
        }
      },
      error(error) {
        if (closed) return;
        closed = true;
        sink.error?.(GatewayError.from(error));
      },
      complete() {
        if (closed) return;
        closed = true;
        sink.complete?.();
      },
    });
    return () => {
      closed = true;
      dispose();
    };
  }

  async function* iterate<R, V>(
    document: TypedDocumentNode<R, V>,
    variables: V,
    init?: RequestOptions,
  ): AsyncGenerator<R, void, undefined> {
    // A queue between graphql-sse's sink and the consumer.
    const queue: IteratorResult<R, undefined>[] = [];
    let failure: GatewayError | null = null;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    const unsubscribe = subscribe(document, variables, {
      next: (data) => {
        queue.push({ done: false, value: data });
        notify();
      },
      error: (error) => {
        failure = error;
        notify();
      },
      complete: () => {
        queue.push({ done: true, value: undefined });
        notify();
      },
    });
    const onAbort = () => {
      queue.push({ done: true, value: undefined });
      notify();
    };
    init?.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        const item = queue.shift();
        if (item) {
          if (item.done) return;
          yield item.value;
        } else if (failure) {
          throw failure;
        } else {
          await new Promise<void>((resolve) => (wake = resolve));
        }
      }
    } finally {
      init?.signal?.removeEventListener("abort", onAbort);
      unsubscribe();
    }
  }

  return {
    url,
    persisted,
    request: (document, ...[variables, init]) => execute(document, variables, init),
    execute,
    subscribe,
    iterate,
    dispose: () => sse.dispose(),
  };
}
