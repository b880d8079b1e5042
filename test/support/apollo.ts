// Apollo Client 4 as an app would set it up against the gateway: its own
// HttpLink (multipart subscriptions), or graphql-sse's Apollo recipe (SSELink),
// with possibleTypes taken from the schema as codegen's fragment matcher would.
import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, Observable, gql } from "@apollo/client";
import { isAbstractType, print } from "graphql";
import { createClient, type ClientOptions } from "graphql-sse";
import { schema } from "../../src/schema/index.ts";
import { SEND_MESSAGE, type StreamEvent } from "./sse.ts";

const possibleTypes = Object.fromEntries(
  Object.values(schema.getTypeMap())
    .filter(isAbstractType)
    .map((type) => [type.name, schema.getPossibleTypes(type).map((possible) => possible.name)]),
);

/** graphql-sse's recipe for Apollo Client, as its README has it (Apollo 4 types). */
export class SSELink extends ApolloLink {
  private client;
  constructor(options: ClientOptions) {
    super();
    this.client = createClient(options);
  }
  override request(operation: ApolloLink.Operation): Observable<ApolloLink.Result> {
    return new Observable((sink) =>
      this.client.subscribe(
        { ...operation, query: print(operation.query) },
        {
          next: (value) => sink.next(value as ApolloLink.Result),
          complete: sink.complete.bind(sink),
          error: sink.error.bind(sink),
        },
      ),
    );
  }
  dispose() {
    this.client.dispose();
  }
}

export function apolloClient(baseUrl: string, token?: string | null, link?: ApolloLink) {
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  return new ApolloClient({
    link: link ?? new HttpLink({ uri: `${baseUrl}/graphql`, headers }),
    cache: new InMemoryCache({ possibleTypes }),
  });
}

export interface ApolloSubscription {
  events: StreamEvent[];
  /** The error Apollo handed the app (GraphQL errors arrive as `error` on a result). */
  error: any;
  completed: boolean;
}

/**
 * Subscribes to sendMessage through `client` (no-cache: stream events are not
 * entities) until it completes or errors; `onEvent` may return true to
 * unsubscribe there (the client goes away).
 */
export function subscribeWithApollo(
  client: ApolloClient,
  variables: Record<string, unknown>,
  // biome-ignore lint/suspicious/noConfusingVoidType: callers return nothing or true to stop.
  onEvent?: (event: StreamEvent, all: StreamEvent[]) => boolean | void,
): Promise<ApolloSubscription> {
  const outcome: ApolloSubscription = { events: [], error: undefined, completed: false };
  return new Promise((resolve) => {
    const subscription = client.subscribe({ query: gql(SEND_MESSAGE), variables, fetchPolicy: "no-cache" }).subscribe({
      next(result) {
        if (result.error) outcome.error = result.error;
        const event = (result.data as { sendMessage?: StreamEvent } | undefined)?.sendMessage;
        if (!event) return;
        outcome.events.push(event);
        if (onEvent?.(event, outcome.events)) {
          subscription.unsubscribe();
          resolve(outcome);
        }
      },
      error(error) {
        outcome.error = error;
        resolve(outcome);
      },
      complete() {
        outcome.completed = true;
        resolve(outcome);
      },
    });
  });
}
