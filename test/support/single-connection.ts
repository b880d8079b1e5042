// graphql-sse's own client in single-connection mode (/graphql/stream), with a
// fetch that records every request it makes (and may pick the instance each goes to).
import { createClient, type Client } from "graphql-sse";
import type { GraphQLResult } from "./gateway.ts";
import { SEND_MESSAGE, type StreamEvent } from "./sse.ts";

export interface RecordedRequest {
  method: string;
  url: string;
  status: number;
}

export interface SingleConnectionClient {
  client: Client<true>;
  requests: RecordedRequest[];
  /** Runs an operation on the connection and reads its results to the end (or to the error the sink got). */
  run(
    query: string,
    variables?: Record<string, unknown>,
    onResult?: (result: GraphQLResult) => void,
  ): Promise<SingleConnectionRun>;
  /** Runs a sendMessage turn on the connection. */
  turn(variables: Record<string, unknown>): Promise<SingleConnectionRun>;
}

export interface SingleConnectionRun {
  results: GraphQLResult[];
  events: StreamEvent[];
  error: unknown;
}

/**
 * A single-connection client on `baseUrls[0]`, or, with several, on each in
 * turn per request (a round-robin balancer with no sticky sessions).
 */
export function singleConnectionClient(
  baseUrls: string[],
  options: { token?: string | null; headers?: Record<string, string> } = {},
): SingleConnectionClient {
  const requests: RecordedRequest[] = [];
  let next = 0;
  const fetchFn = async (input: string | URL | Request, init?: RequestInit) => {
    const base = baseUrls[next++ % baseUrls.length];
    const url = new URL(String(input));
    const target = `${base}${url.pathname}${url.search}`;
    const response = await fetch(target, init);
    requests.push({ method: init?.method ?? "GET", url: target, status: response.status });
    return response;
  };
  const client = createClient({
    singleConnection: true,
    url: `${baseUrls[0]}/graphql/stream`,
    retryAttempts: 0,
    fetchFn,
    headers: { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers },
  });
  const run: SingleConnectionClient["run"] = async (query, variables = {}, onResult) => {
    const outcome: SingleConnectionRun = { results: [], events: [], error: undefined };
    try {
      for await (const payload of client.iterate({ query, variables })) {
        const result = payload as GraphQLResult;
        outcome.results.push(result);
        onResult?.(result);
        const event = (result.data?.sendMessage ?? result.data?.resumeStream) as StreamEvent | undefined;
        if (event) outcome.events.push(event);
      }
    } catch (error) {
      outcome.error = error;
    }
    return outcome;
  };
  return { client, requests, run, turn: (variables) => run(SEND_MESSAGE, variables) };
}
