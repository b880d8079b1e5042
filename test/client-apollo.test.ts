// Apollo Client 4 against the gateway with nothing but its own HttpLink:
// queries, mutations, and sendMessage over Apollo's multipart subscription
// protocol (a whole turn, a refusal, a stop, a client that goes away); and
// graphql-sse's Apollo recipe, which sends Apollo 4's `operationType` key;
// and @graphql-yoga/apollo-link (SSE), which must keep working.
// Runs on PGlite and PostgreSQL.
import { gql } from "@apollo/client";
import { YogaLink } from "@graphql-yoga/apollo-link";
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { CREATE_CHAT, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, textDeltas, turnHead, turnTail, slowTextTurn } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import { apolloClient, SSELink, subscribeWithApollo } from "./support/apollo.ts";
import {
  CHAT_WITH_MESSAGES,
  eventually,
  sendInput,
  STOP_STREAM,
  subscribeWithFetch,
  TERMINAL_TYPES,
  typenames,
  streamedText,
  textDeltaCount,
} from "./support/sse.ts";

failOnUnhandledRejections();

const { fake, gateway } = useStreamerGateway();

// About 6 s of answer, a delta every 30 ms: always stopped or left long before the end.
const SLOW_TEXT = "A long answer that streams slowly. ".repeat(30);
const slowAnswer = respond(slowTextTurn(SLOW_TEXT, 30));
const quickAnswer = respond([...turnHead(), ...textDeltas("t1", "Hello from the fake model."), ...turnTail()]);

async function storedMessages(chatId: string, token: string) {
  const { data } = await apolloClient(gateway.url, token).query({
    query: gql(CHAT_WITH_MESSAGES),
    variables: { id: chatId },
    fetchPolicy: "no-cache",
  });
  return (data as any).chat.messages.edges.map((edge: any) => edge.node);
}

describe("Apollo Client 4 with its HttpLink", () => {
  it("runs a query and a mutation", async () => {
    const user = newUser();
    const client = apolloClient(gateway.url, await gateway.tokenFor(user));
    const me = await client.query({ query: gql`{ me { id } }` });
    expect(me.data).toEqual({ me: { __typename: "User", id: user.id } });

    const id = randomUUID();
    const created = await client.mutate({ mutation: gql(CREATE_CHAT), variables: { input: { id } } });
    expect((created.data as any).createChat).toMatchObject({ id, visibility: "PRIVATE" });
  });

  it("streams a whole sendMessage turn: the same events as SSE, ending in StreamFinished with the stored message", async () => {
    fake.handle(quickAnswer);
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Hello?");
    const turn = await subscribeWithApollo(apolloClient(gateway.url, token), variables);

    expect(turn.error).toBeUndefined();
    expect(turn.completed).toBe(true);
    const { events } = turn;
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i));
    expect(events[0]).toMatchObject({ __typename: "StreamStarted", chatId: variables.input.chatId });
    expect(events.filter((e) => TERMINAL_TYPES.includes(e.__typename))).toHaveLength(1);
    const finished = events.at(-1)!;
    expect(finished.__typename).toBe("StreamFinished");
    expect(streamedText(events)).toBe("Hello from the fake model.");

    const overSse = await subscribeWithFetch(gateway.url, sendInput("Hello?"), { token });
    expect(typenames(events)).toEqual(typenames(overSse.events));

    const stored = await storedMessages(variables.input.chatId, token);
    expect(stored.map((m: any) => [m.role, m.status])).toEqual([
      ["USER", "COMPLETE"],
      ["ASSISTANT", "COMPLETE"],
    ]);
    expect(stored[1]).toEqual(finished.message);
  });

  it("a refusal before any event reaches Apollo as a GraphQL error with its code, and nothing runs", async () => {
    const before = fake.requests.length;
    const turn = await subscribeWithApollo(apolloClient(gateway.url, null), sendInput("Hello?"));
    expect(turn.events).toEqual([]);
    expect(turn.error?.errors?.map((e: any) => e.extensions?.code)).toEqual(["unauthorized:chat"]);
    expect(fake.requests.length).toBe(before);
  });

  it("stopStream while it runs ends the stream with StreamAborted and stores the partial answer", async () => {
    fake.handle(slowAnswer);
    const token = await gateway.tokenFor(newUser());
    const client = apolloClient(gateway.url, token);
    const variables = sendInput("Tell me a long story.");
    let stopping: Promise<unknown> | undefined;
    const turn = await subscribeWithApollo(client, variables, (event, all) => {
      if (event.__typename === "TextDelta" && textDeltaCount(all) === 3) {
        stopping = client.mutate({ mutation: gql(STOP_STREAM), variables: { chatId: variables.input.chatId } });
      }
    });
    expect(((await stopping) as any).data.stopStream).toBe(true);

    expect(turn.error).toBeUndefined();
    expect(turn.completed).toBe(true);
    const aborted = turn.events.at(-1)!;
    expect(aborted.__typename).toBe("StreamAborted");
    expect(aborted.partialMessage).toMatchObject({ role: "ASSISTANT", status: "ABORTED" });
    expect(streamedText(turn.events).length).toBeLessThan(SLOW_TEXT.length);
    const stored = await storedMessages(variables.input.chatId, token);
    expect(stored[1]).toEqual(aborted.partialMessage);
  });

  it("a client that goes away does not stop the turn: it runs on and is stored COMPLETE", async () => {
    fake.handle(slowAnswer);
    const token = await gateway.tokenFor(newUser());
    const variables = sendInput("Tell me a long story.");
    const requestsBefore = fake.requests.length;
    const left = await subscribeWithApollo(
      apolloClient(gateway.url, token),
      variables,
      (_e, all) => textDeltaCount(all) === 3,
    );
    expect(left.completed).toBe(false);

    const upstream = fake.requests[requestsBefore];
    const stored = await eventually(async () => {
      const messages = await storedMessages(variables.input.chatId, token);
      return messages[1]?.status === "COMPLETE" && messages;
    }, 15_000);
    expect(stored[1].parts.map((p: any) => p.text).join("")).toBe(SLOW_TEXT);
    expect(upstream.closedEarly).toBe(false);
  });
});

describe("graphql-sse's Apollo recipe (sends operationType)", () => {
  it("runs a query and a whole sendMessage turn", async () => {
    fake.handle(quickAnswer);
    const user = newUser();
    const token = await gateway.tokenFor(user);
    // No retries: a refused request fails the test at once instead of being retried silently.
    const link = new SSELink({
      url: `${gateway.url}/graphql`,
      headers: { authorization: `Bearer ${token}` },
      retryAttempts: 0,
    });
    try {
      const client = apolloClient(gateway.url, token, link);
      const me = await client.query({ query: gql`{ me { id } }` });
      expect((me.data as any).me.id).toBe(user.id);

      const turn = await subscribeWithApollo(client, sendInput("Hello?"));
      expect(turn.error).toBeUndefined();
      expect(turn.events.at(-1)!.__typename).toBe("StreamFinished");
      expect(streamedText(turn.events)).toBe("Hello from the fake model.");
    } finally {
      link.dispose();
    }
  });
});

describe("@graphql-yoga/apollo-link (SSE)", () => {
  it("runs a query and a whole sendMessage turn", async () => {
    fake.handle(quickAnswer);
    const user = newUser();
    const token = await gateway.tokenFor(user);
    const link = new YogaLink({ endpoint: `${gateway.url}/graphql`, headers: { authorization: `Bearer ${token}` } });
    const client = apolloClient(gateway.url, token, link);
    const me = await client.query({ query: gql`{ me { id } }` });
    expect((me.data as any).me.id).toBe(user.id);

    const turn = await subscribeWithApollo(client, sendInput("Hello?"));
    expect(turn.error).toBeUndefined();
    expect(turn.events.at(-1)!.__typename).toBe("StreamFinished");
    expect(streamedText(turn.events)).toBe("Hello from the fake model.");
  });
});
