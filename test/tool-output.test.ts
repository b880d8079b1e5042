// addToolOutput: the client answers a tool call the model left to it (a tool
// without execute), and the next turn's model sees the answer. Runs on PGlite
// and PostgreSQL.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import { expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, textDeltas, textTurn, turnHead, turnTail } from "./support/fake-streamer.ts";
import { useStreamerGateway } from "./support/gateway.ts";
import { CHAT_WITH_MESSAGES, sendInput, subscribeWithFetch } from "./support/sse.ts";

failOnUnhandledRejections();

const { fake, gateway } = useStreamerGateway();

const ADD_TOOL_OUTPUT = /* GraphQL */ `
  mutation ($input: ToolOutputInput!) {
    addToolOutput(input: $input) {
      id
      status
      parts {
        __typename
        ... on ToolPart {
          toolCallId
          state
          input
          output
          errorText
        }
      }
    }
  }
`;

/** A finished turn whose model asked the client (askUser, no execute); its chat, message and token. */
async function askedTurn() {
  const token = await gateway.tokenFor(newUser());
  const chatId = randomUUID();
  fake.handle(
    respond([
      ...turnHead(),
      ...textDeltas("t1", "Let me ask."),
      { type: "tool-input-available", toolCallId: "ask-1", toolName: "askUser", input: { question: "Proceed?" } },
      ...turnTail(null, "tool-calls"),
    ]),
  );
  const first = await subscribeWithFetch(gateway.url, sendInput("Do it", { chatId }), { token });
  const finished = first.events.at(-1)!;
  expect(finished.__typename).toBe("StreamFinished");
  return { token, chatId, messageId: finished.message.id as string };
}

describe("addToolOutput", () => {
  it("stores the client's answer on the call, which the next turn's model gets", async () => {
    const { token, chatId, messageId } = await askedTurn();
    const input = { chatId, messageId, toolCallId: "ask-1", output: { answer: "yes" } };
    const { addToolOutput } = expectOk(await gateway.gql(ADD_TOOL_OUTPUT, { input }, token));
    expect(addToolOutput).toMatchObject({ id: messageId, status: "COMPLETE" });
    expect(addToolOutput.parts).toContainEqual({
      __typename: "ToolPart",
      toolCallId: "ask-1",
      state: "output-available",
      input: { question: "Proceed?" },
      output: { answer: "yes" },
      errorText: null,
    });
    // What a later read of the chat holds.
    const { chat } = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: chatId }, token));
    const stored = chat.messages.edges.map((edge: any) => edge.node).find((m: any) => m.id === messageId);
    expect(stored.parts).toContainEqual(expect.objectContaining({ toolCallId: "ask-1", state: "output-available" }));

    // Answered once: a second answer is refused, and nothing changes.
    const again = await gateway.gql(ADD_TOOL_OUTPUT, { input: { ...input, output: { answer: "no" } } }, token);
    expect(again.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/not waiting for a result.*output-available/),
      extensions: { code: "bad_request:api", reason: "tool_call_not_waiting" },
    });

    fake.handle(respond(textTurn("Going ahead.")));
    await subscribeWithFetch(gateway.url, sendInput("Go on", { chatId }), { token });
    expect(fake.requests.at(-1)!.body.existingMessages[1].parts).toContainEqual({
      type: "tool-askUser",
      toolCallId: "ask-1",
      state: "output-available",
      input: { question: "Proceed?" },
      output: { answer: "yes" },
    });
  });

  it("a call cut off while its input streamed is refused without the answered reason (a client must not skip it as stored)", async () => {
    const token = await gateway.tokenFor(newUser());
    const chatId = randomUUID();
    fake.handle(
      respond(
        [
          ...turnHead(),
          ...textDeltas("t1", "Let me ask."),
          { type: "tool-input-start", toolCallId: "ask-1", toolName: "askUser" },
          { type: "tool-input-delta", toolCallId: "ask-1", inputTextDelta: '{"question":' },
        ],
        "close",
      ),
    );
    const { events } = await subscribeWithFetch(gateway.url, sendInput("Do it", { chatId }), { token });
    expect(events.at(-1)).toMatchObject({ __typename: "StreamFailed" });
    const messageId = events[0]!.assistantMessageId;
    const input = { chatId, messageId, toolCallId: "ask-1", output: { answer: "yes" } };
    const refused = await gateway.gql(ADD_TOOL_OUTPUT, { input }, token);
    expect(refused.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/not waiting for a result.*input-streaming/),
      extensions: { code: "bad_request:api" },
    });
    expect(refused.errors?.[0]?.extensions).not.toHaveProperty("reason");
  });

  it("refuses an answer once the user went on: the next turn's model was told the call went unanswered", async () => {
    const { token, chatId, messageId } = await askedTurn();
    fake.handle(respond(textTurn("Fine.")));
    await subscribeWithFetch(gateway.url, sendInput("Never mind", { chatId }), { token });
    const input = { chatId, messageId, toolCallId: "ask-1", output: { answer: "yes" } };
    const late = await gateway.gql(ADD_TOOL_OUTPUT, { input }, token);
    expect(late.errors?.[0]).toMatchObject({
      message: expect.stringMatching(/went on past this tool call/),
      extensions: { code: "bad_request:api" },
    });
  });

  it("stores a failure as output-error", async () => {
    const { token, chatId, messageId } = await askedTurn();
    const input = { chatId, messageId, toolCallId: "ask-1", errorText: "The user closed the dialog." };
    const { addToolOutput } = expectOk(await gateway.gql(ADD_TOOL_OUTPUT, { input }, token));
    expect(addToolOutput.parts).toContainEqual(
      expect.objectContaining({ toolCallId: "ask-1", state: "output-error", errorText: "The user closed the dialog." }),
    );
  });

  it("refuses bad answers, other users and unknown calls, changing nothing", async () => {
    const { token, chatId, messageId } = await askedTurn();
    const base = { chatId, messageId, toolCallId: "ask-1" };
    const refusals: [object, string | null, string, RegExp][] = [
      [
        { ...base, output: 1, errorText: "and failed" },
        token,
        "bad_request:api",
        /exactly one of output and errorText/,
      ],
      [base, token, "bad_request:api", /exactly one of output and errorText/],
      [{ ...base, output: { text: "a\u0000b" } }, token, "bad_request:api", /U\+0000/],
      [{ ...base, toolCallId: "nope", output: 1 }, token, "not_found:chat", /no tool call "nope"/],
      [{ ...base, messageId: randomUUID(), output: 1 }, token, "not_found:chat", /not found/],
      [{ ...base, chatId: "not-a-uuid", output: 1 }, token, "bad_request:api", /UUID/],
      [{ ...base, output: 1 }, await gateway.tokenFor(newUser()), "forbidden:chat", /./],
    ];
    for (const [input, as, code, message] of refusals) {
      const result = await gateway.gql(ADD_TOOL_OUTPUT, { input }, as!);
      expect(result.errors?.[0], JSON.stringify(input)).toMatchObject({
        message: expect.stringMatching(message),
        extensions: { code },
      });
    }
    const { chat } = expectOk(await gateway.gql(CHAT_WITH_MESSAGES, { id: chatId }, token));
    const stored = chat.messages.edges.map((edge: any) => edge.node).find((m: any) => m.id === messageId);
    expect(stored.parts).toContainEqual(expect.objectContaining({ toolCallId: "ask-1", state: "input-available" }));
  });

  it("an answer racing the next message: the model sees it, or it is refused; never stored while the model was told it went unanswered", async () => {
    for (let trial = 0; trial < 6; trial++) {
      const { token, chatId, messageId } = await askedTurn();
      fake.handle(respond(textTurn("Going on.")));
      const input = { chatId, messageId, toolCallId: "ask-1", output: { answer: "yes" } };
      const [answer] = await Promise.all([
        gateway.gql(ADD_TOOL_OUTPUT, { input }, token),
        subscribeWithFetch(gateway.url, sendInput("Next", { chatId }), { token }),
      ]);
      const sent = fake.requests.filter((request) => request.body.id === chatId).at(-1)!;
      const call = sent.body.existingMessages[1].parts.find((part: any) => part.toolCallId === "ask-1");
      if (answer.errors) {
        expect(answer.errors[0]?.extensions?.code).toBe("bad_request:api");
        expect(call.state).toBe("output-error");
      } else {
        expect(call).toMatchObject({ state: "output-available", output: { answer: "yes" } });
      }
    }
  });
});
