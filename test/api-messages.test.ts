import { describe, expect, test, vi } from "vitest";
import { useTestGateway } from "./support/gateway.ts";
import {
  expectError,
  expectOk,
  insertChat,
  insertMessage,
  insertUser,
  newId,
  SAVE_MESSAGES,
  textMessage,
} from "./support/fixtures.ts";

const gateway = useTestGateway();

const prisma = () => gateway.database.db.prisma;

async function ownerWithChat() {
  const user = await insertUser(prisma());
  const token = await gateway.tokenFor({ id: user.id });
  const chat = await insertChat(prisma(), { userId: user.id });
  return { user, token, chat };
}

const MESSAGES = /* GraphQL */ `
  query Messages($id: ID!, $first: Int) {
    chat(id: $id) { messages(first: $first) { edges { node { id role status parts { __typename ... on TextPart { text } } } } } }
  }
`;

/** Two instants 3 ms apart, a minute ahead (the tokens, issued now, must not look issued in the future). */
function threeMsApart(): string[] {
  const start = Math.ceil(Date.now() / 1000) * 1000 + 60_000;
  return [new Date(start).toISOString(), new Date(start + 3).toISOString()];
}

/** Runs each step with the clock (Date only; the gateway runs in this process) set to the matching time. */
async function atClock(times: string[], steps: (() => Promise<unknown>)[]) {
  vi.useFakeTimers({ toFake: ["Date"] });
  try {
    for (const [index, step] of steps.entries()) {
      vi.setSystemTime(new Date(times[index]));
      await step();
    }
  } finally {
    vi.useRealTimers();
  }
}

async function storedIds(chatId: string, token: string): Promise<string[]> {
  const data = expectOk(await gateway.gql(MESSAGES, { id: chatId, first: 100 }, token));
  return data.chat.messages.edges.map((e: any) => e.node.id);
}

describe("saveMessages", () => {
  test("appends messages in order and returns them", async () => {
    const { chat, token } = await ownerWithChat();
    const first = [textMessage("hello"), textMessage("hi there", "ASSISTANT")];
    const saved = expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: first }, token)).saveMessages;
    expect(saved).toEqual([
      expect.objectContaining({ id: first[0].id, chatId: chat.id, role: "USER", status: "COMPLETE" }),
      expect.objectContaining({ id: first[1].id, chatId: chat.id, role: "ASSISTANT", status: "COMPLETE" }),
    ]);
    const second = [textMessage("and another thing")];
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: second }, token));
    expect(await storedIds(chat.id, token)).toEqual([first[0].id, first[1].id, second[0].id]);
  });

  test("a message saved a few milliseconds after a batch is appended after it", async () => {
    const { chat, token } = await ownerWithChat();
    const batch = Array.from({ length: 10 }, (_, i) => textMessage(`step ${i}`, "ASSISTANT"));
    const next = textMessage("next question");
    await atClock(threeMsApart(), [
      async () => expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: batch }, token)),
      async () => expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [next] }, token)),
    ]);
    expect(await storedIds(chat.id, token)).toEqual([...batch.map((m) => m.id), next.id]);
  });

  test("returns parts typed through the MessagePart union", async () => {
    const { chat, token } = await ownerWithChat();
    const parts = [
      { type: "step-start" },
      { type: "reasoning", text: "thinking..." },
      {
        type: "tool-getWeather",
        toolCallId: "call-1",
        state: "output-available",
        input: { city: "Lisbon" },
        output: { celsius: 21 },
      },
      { type: "tool-search", toolCallId: "call-2", state: "output-error", input: { q: "x" }, errorText: "boom" },
      { type: "text", text: "It is sunny." },
      { type: "file", mediaType: "image/png", url: "https://example.com/sun.png", filename: "sun.png" },
      { type: "source-url", sourceId: "src-1", url: "https://example.com/weather", title: "Weather" },
      { type: "source-document", sourceId: "src-2", mediaType: "application/pdf", title: "Report", filename: "r.pdf" },
      { type: "data-weather", id: "w1", data: { sky: "clear" } },
    ];
    const id = newId();
    const PARTS = /* GraphQL */ `
      parts {
        __typename
        ... on TextPart { text }
        ... on ReasoningPart { reasoning: text }
        ... on ToolPart { toolCallId toolName state input output errorText }
        ... on FilePart { mediaType url filename }
        ... on SourceUrlPart { sourceId sourceUrl: url title }
        ... on SourceDocumentPart { sourceId docMediaType: mediaType docTitle: title docFilename: filename }
        ... on DataPart { name dataId: id data }
        ... on StepStartPart { stepStart }
      }
    `;
    const QUERY = `mutation Save($chatId: ID!, $messages: [MessageInput!]!) { saveMessages(chatId: $chatId, messages: $messages) { ${PARTS} } }`;
    const result = await gateway.gql(QUERY, { chatId: chat.id, messages: [{ id, role: "ASSISTANT", parts }] }, token);
    const expected = [
      { __typename: "StepStartPart", stepStart: true },
      { __typename: "ReasoningPart", reasoning: "thinking..." },
      {
        __typename: "ToolPart",
        toolCallId: "call-1",
        toolName: "getWeather",
        state: "output-available",
        input: { city: "Lisbon" },
        output: { celsius: 21 },
        errorText: null,
      },
      {
        __typename: "ToolPart",
        toolCallId: "call-2",
        toolName: "search",
        state: "output-error",
        input: { q: "x" },
        output: null,
        errorText: "boom",
      },
      { __typename: "TextPart", text: "It is sunny." },
      { __typename: "FilePart", mediaType: "image/png", url: "https://example.com/sun.png", filename: "sun.png" },
      { __typename: "SourceUrlPart", sourceId: "src-1", sourceUrl: "https://example.com/weather", title: "Weather" },
      {
        __typename: "SourceDocumentPart",
        sourceId: "src-2",
        docMediaType: "application/pdf",
        docTitle: "Report",
        docFilename: "r.pdf",
      },
      { __typename: "DataPart", name: "weather", dataId: "w1", data: { sky: "clear" } },
    ];
    expect(expectOk(result).saveMessages[0].parts).toEqual(expected);
    // Read back through chat.messages the same way.
    const read = await gateway.gql(
      `query($id: ID!) { chat(id: $id) { messages { edges { node { ${PARTS} } } } } }`,
      { id: chat.id },
      token,
    );
    expect(expectOk(read).chat.messages.edges[0].node.parts).toEqual(expected);
  });

  const invalid: [string, (chatId: string) => Record<string, unknown>][] = [
    ["an unknown part type", () => ({ messages: [{ id: newId(), role: "USER", parts: [{ type: "bogus" }] }] })],
    ["a text part without text", () => ({ messages: [{ id: newId(), role: "USER", parts: [{ type: "text" }] }] })],
    ["parts that are not a list", () => ({ messages: [{ id: newId(), role: "USER", parts: "hello" }] })],
    ["no parts", () => ({ messages: [{ id: newId(), role: "USER", parts: [] }] })],
    ["a text part over 2000 characters", () => ({ messages: [textMessage("x".repeat(2001))] })],
    ["a user text part of white space only", () => ({ messages: [textMessage(" \n\t ")] })],
    ["a NUL (U+0000) in a text part", () => ({ messages: [textMessage("a\u0000b")] })],
    ["an unpaired surrogate in a text part", () => ({ messages: [textMessage("a\ud800b", "ASSISTANT")] })],
    [
      "a NUL deep in a tool call's input",
      () => ({
        messages: [
          {
            id: newId(),
            role: "ASSISTANT",
            parts: [
              { type: "tool-search", toolCallId: "c1", state: "input-available", input: { q: ["ok", "\u0000"] } },
            ],
          },
        ],
      }),
    ],
    [
      "an unpaired surrogate in a data part's key",
      () => ({ messages: [{ id: newId(), role: "ASSISTANT", parts: [{ type: "data-x", data: { "\udc00": 1 } }] }] }),
    ],
    [
      "a file part with a javascript: URL",
      () => ({
        messages: [
          {
            id: newId(),
            role: "USER",
            parts: [{ type: "file", mediaType: "image/png", url: "javascript:alert(1)" }],
          },
        ],
      }),
    ],
    [
      "a file part with a URL over 2048 characters",
      () => ({
        messages: [
          {
            id: newId(),
            role: "USER",
            parts: [{ type: "file", mediaType: "image/png", url: `data:image/png;base64,${"A".repeat(2_100)}` }],
          },
        ],
      }),
    ],
    [
      "a source with a javascript: URL",
      () => ({
        messages: [
          {
            id: newId(),
            role: "ASSISTANT",
            parts: [{ type: "source-url", sourceId: "s1", url: "javascript:alert(1)", title: "<b>x</b>" }],
          },
        ],
      }),
    ],
    [
      "a user's file part without a media type",
      () => ({
        messages: [
          {
            id: newId(),
            role: "USER",
            parts: [{ type: "file", mediaType: "not a type", url: "https://example.com/a.png" }],
          },
        ],
      }),
    ],
    ["no messages", () => ({ messages: [] })],
    ["more than 100 messages", () => ({ messages: Array.from({ length: 101 }, () => textMessage("hi", "ASSISTANT")) })],
    ["a non-UUID message id", () => ({ messages: [textMessage("hi", "USER", "message-1")] })],
    ["a non-UUID chat id", () => ({ chatId: "chat-1", messages: [textMessage("hi")] })],
    [
      "duplicate ids in one call",
      () => {
        const id = newId();
        return { messages: [textMessage("a", "USER", id), textMessage("b", "ASSISTANT", id)] };
      },
    ],
  ];
  for (const [name, build] of invalid) {
    test(`${name} is bad_request:api and stores nothing`, async () => {
      const { chat, token } = await ownerWithChat();
      const result = await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, ...build(chat.id) }, token);
      expectError(result, "bad_request:api");
      expect(result.data?.saveMessages ?? null).toBeNull();
      expect(await prisma().message.count()).toBe(0);
    });
  }

  test("NUL and unpaired surrogates are refused with the path of the string; paired surrogates (emoji) are fine", async () => {
    const { chat, token } = await ownerWithChat();
    const nul = await gateway.gql(
      SAVE_MESSAGES,
      { chatId: chat.id, messages: [textMessage("ok"), textMessage("a\u0000")] },
      token,
    );
    expectError(nul, "bad_request:api");
    expect(nul.errors![0].message).toContain(
      "messages.1: parts.0.text: must not contain U+0000 or an unpaired surrogate",
    );
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [textMessage("smile \u{1F600}")] }, token));
    const [row] = await prisma().message.findMany();
    expect(row.parts).toEqual([{ type: "text", text: "smile \u{1F600}" }]);
  });

  test("file URLs of 2048 characters and http(s) sources are stored; the refusals name the URL's path", async () => {
    const { chat, token } = await ownerWithChat();
    const url = `data:image/png;base64,${"A".repeat(2048 - "data:image/png;base64,".length)}`;
    const parts = [
      { type: "file", mediaType: "image/png", url },
      { type: "source-url", sourceId: "s1", url: "https://example.com/a", title: "A" },
    ];
    expectOk(
      await gateway.gql(
        SAVE_MESSAGES,
        { chatId: chat.id, messages: [{ id: newId(), role: "ASSISTANT", parts }] },
        token,
      ),
    );
    const tooLong = await gateway.gql(
      SAVE_MESSAGES,
      { chatId: chat.id, messages: [{ id: newId(), role: "USER", parts: [{ ...parts[0], url: `${url}A` }] }] },
      token,
    );
    expect(tooLong.errors![0].message).toContain("messages.0: parts.0.url: must be at most 2048 characters");
    const linked = await gateway.gql(
      SAVE_MESSAGES,
      {
        chatId: chat.id,
        messages: [{ id: newId(), role: "ASSISTANT", parts: [{ ...parts[1], url: "data:text/html,x" }] }],
      },
      token,
    );
    expect(linked.errors![0].message).toContain("messages.0: parts.0.url: must be an https or http URL");
  });

  test("white space between an assistant's steps is stored; a user message needs something else", async () => {
    const { chat, token } = await ownerWithChat();
    const assistant = {
      id: newId(),
      role: "ASSISTANT",
      parts: [
        { type: "text", text: "\n\n" },
        { type: "text", text: "Hi" },
      ],
    };
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [assistant] }, token));
    const user = {
      id: newId(),
      role: "USER",
      parts: [
        { type: "text", text: "look" },
        { type: "text", text: " " },
      ],
    };
    const refused = await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [user] }, token);
    expectError(refused, "bad_request:api");
    expect(refused.errors![0].message).toContain("messages.0: parts.1.text: must not be blank");
    expect(await prisma().message.count()).toBe(1);
  });

  test("the parts' bound counts UTF-8 bytes of JSON, not characters", async () => {
    const { chat, token } = await ownerWithChat();
    // "€" is one UTF-16 unit and three UTF-8 bytes: 70,000 of them are under the bound by
    // length, over it by bytes; 60,000 are under it either way.
    const data = (count: number) => [
      { id: newId(), role: "ASSISTANT", parts: [{ type: "data-prices", data: { text: "€".repeat(count) } }] },
    ];
    const over = await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: data(70_000) }, token);
    expectError(over, "bad_request:api");
    expect(over.errors![0].message).toBe("messages.0: parts must be at most 200000 bytes of JSON");
    expect(await prisma().message.count()).toBe(0);
    expect(
      expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: data(60_000) }, token)).saveMessages,
    ).toHaveLength(1);
  });

  test("a text part of exactly 2000 characters is fine", async () => {
    const { chat, token } = await ownerWithChat();
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [textMessage("x".repeat(2000))] }, token));
    expect(await prisma().message.count()).toBe(1);
  });

  test("100 messages in one call is fine", async () => {
    const { chat, token } = await ownerWithChat();
    const messages = Array.from({ length: 100 }, () => textMessage("ok", "ASSISTANT"));
    expect(expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages }, token)).saveMessages).toHaveLength(
      100,
    );
  });

  test("an id already stored is bad_request:api and the batch is not stored", async () => {
    const { chat, token } = await ownerWithChat();
    const existing = textMessage("first");
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [existing] }, token));
    const again = [textMessage("new"), { ...existing, parts: [{ type: "text", text: "replaced?" }] }];
    expectError(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: again }, token), "bad_request:api");
    const rows = await prisma().message.findMany();
    expect(rows).toHaveLength(1);
    expect(rows[0].parts).toEqual([{ type: "text", text: "first" }]);
  });

  test("an id held in another user's chat gets the answer an id of the caller's own chat gets, naming nothing of theirs", async () => {
    const { chat, token } = await ownerWithChat();
    const stranger = await insertUser(prisma());
    const strangersChat = await insertChat(prisma(), { userId: stranger.id, title: "stranger's plans" });
    const theirs = await insertMessage(prisma(), {
      chatId: strangersChat.id,
      userId: stranger.id,
      text: "their secret",
    });
    const mine = textMessage("mine");
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [mine] }, token));

    const refusal = async (id: string) => {
      const result = await gateway.gql(
        SAVE_MESSAGES,
        { chatId: chat.id, messages: [{ ...textMessage("x"), id }] },
        token,
      );
      expectError(result, "bad_request:api");
      return JSON.stringify(result).replaceAll(id, "<id>");
    };
    const elsewhere = await refusal(theirs.id);
    expect(elsewhere).toBe(await refusal(mine.id));
    expect(elsewhere).not.toMatch(/exist|stranger|secret|another/i);
    expect(elsewhere).not.toContain(strangersChat.id);
    expect(await prisma().message.count({ where: { chatId: chat.id } })).toBe(1);
  });

  test("concurrent saves of the same message id: one wins, the others are bad_request:api", async () => {
    const { chat, token } = await ownerWithChat();
    const message = textMessage("only once", "ASSISTANT");
    const results = await Promise.all(
      Array.from({ length: 6 }, () => gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [message] }, token)),
    );
    expect(results.filter((r) => !r.errors)).toHaveLength(1);
    expect(results.filter((r) => r.errors).map((r) => r.errors![0].extensions?.code)).toEqual(
      Array(5).fill("bad_request:api"),
    );
    expect(await prisma().message.count()).toBe(1);
  });

  test("a chat that does not exist is not_found:chat", async () => {
    const { token } = await ownerWithChat();
    expectError(
      await gateway.gql(SAVE_MESSAGES, { chatId: newId(), messages: [textMessage("hi")] }, token),
      "not_found:chat",
    );
    expect(await prisma().message.count()).toBe(0);
  });
});

describe("deleteTrailingMessages", () => {
  const DELETE = `mutation($id: ID!) { deleteTrailingMessages(messageId: $id) }`;

  test("the chat's lastContext goes with its latest turn, and stays while that turn does", async () => {
    const { chat, token, user } = await ownerWithChat();
    const usage = { inputTokens: 100, outputTokens: 44, model: "chat-model" };
    await prisma().chat.update({ where: { id: chat.id }, data: { lastContext: usage } });
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    const at = (i: number) => new Date(t0 + i * 1000);
    const message = (i: number, role: "user" | "assistant") =>
      insertMessage(prisma(), { chatId: chat.id, userId: user.id, role, createdAt: at(i) });
    /** A turn as sendMessage stores it: its user message, its answer, and its Stream row. */
    const turn = async (i: number) => {
      const asked = await message(i, "user");
      const answer = await message(i + 1, "assistant");
      await prisma().stream.create({
        data: { id: newId(), chatId: chat.id, createdAt: at(i), status: "finished", assistantMessageId: answer.id },
      });
      return asked;
    };
    const lastContext = async () => (await prisma().chat.findUniqueOrThrow({ where: { id: chat.id } })).lastContext;
    await turn(0);

    // A later user message alone, or an answer saved by saveMessages: the latest turn stays, so does its usage.
    const unanswered = await message(2, "user");
    expect(expectOk(await gateway.gql(DELETE, { id: unanswered.id }, token)).deleteTrailingMessages).toBe(1);
    expect(await lastContext()).toEqual(usage);
    const saved = await message(3, "assistant");
    expect(expectOk(await gateway.gql(DELETE, { id: saved.id }, token)).deleteTrailingMessages).toBe(1);
    expect(await lastContext()).toEqual(usage);

    const edited = await turn(4);
    expect(expectOk(await gateway.gql(DELETE, { id: edited.id }, token)).deleteTrailingMessages).toBe(2);
    expect(await lastContext()).toBeNull();
  });

  test("removes the message and every later one in its chat, returning the count", async () => {
    const { chat, token, user } = await ownerWithChat();
    const other = await insertChat(prisma(), { userId: user.id });
    const t0 = Date.parse("2026-01-01T00:00:00.000Z");
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(
        (await insertMessage(prisma(), { chatId: chat.id, userId: user.id, createdAt: new Date(t0 + i * 1000) })).id,
      );
      await insertMessage(prisma(), { chatId: other.id, userId: user.id, createdAt: new Date(t0 + i * 1000) });
    }
    expect(expectOk(await gateway.gql(DELETE, { id: ids[2] }, token)).deleteTrailingMessages).toBe(3);
    expect(await storedIds(chat.id, token)).toEqual(ids.slice(0, 2));
    expect(await prisma().message.count({ where: { chatId: other.id } })).toBe(5);
  });

  test("editing a message saved just after a batch removes only that message", async () => {
    const { chat, token } = await ownerWithChat();
    const batch = Array.from({ length: 10 }, (_, i) => textMessage(`step ${i}`, "ASSISTANT"));
    const edited = textMessage("to be edited");
    await atClock(threeMsApart(), [
      async () => expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: batch }, token)),
      async () => expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages: [edited] }, token)),
    ]);
    expect(expectOk(await gateway.gql(DELETE, { id: edited.id }, token)).deleteTrailingMessages).toBe(1);
    expect(await storedIds(chat.id, token)).toEqual(batch.map((m) => m.id));
  });

  test("a message that does not exist is not_found:chat; a non-UUID id is bad_request:api", async () => {
    const { token } = await ownerWithChat();
    expectError(await gateway.gql(DELETE, { id: newId() }, token), "not_found:chat");
    expectError(await gateway.gql(DELETE, { id: "m-1" }, token), "bad_request:api");
  });
});

describe("voteMessage", () => {
  const VOTE = `mutation($c: ID!, $m: ID!, $up: Boolean!) { voteMessage(chatId: $c, messageId: $m, up: $up) }`;

  test("records a vote; a later vote replaces it", async () => {
    const { chat, token, user } = await ownerWithChat();
    const message = await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "assistant" });
    expect(expectOk(await gateway.gql(VOTE, { c: chat.id, m: message.id, up: true }, token)).voteMessage).toBe(true);
    expect(await prisma().vote.findMany()).toEqual([{ chatId: chat.id, messageId: message.id, isUpvoted: true }]);
    expect(expectOk(await gateway.gql(VOTE, { c: chat.id, m: message.id, up: false }, token)).voteMessage).toBe(true);
    expect(await prisma().vote.findMany()).toEqual([{ chatId: chat.id, messageId: message.id, isUpvoted: false }]);
  });

  test("ids in upper case name the same chat and message (Swift writes UUIDs so)", async () => {
    const { chat, token, user } = await ownerWithChat();
    const message = await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "assistant" });
    const up = { c: chat.id.toUpperCase(), m: message.id.toUpperCase(), up: true };
    expect(expectOk(await gateway.gql(VOTE, up, token)).voteMessage).toBe(true);
    expect(await prisma().vote.findMany({ where: { chatId: chat.id } })).toEqual([
      { chatId: chat.id, messageId: message.id, isUpvoted: true },
    ]);
  });

  test("a message of another chat, or none, is not_found:chat and records nothing", async () => {
    const { chat, token, user } = await ownerWithChat();
    const otherChat = await insertChat(prisma(), { userId: user.id });
    const elsewhere = await insertMessage(prisma(), { chatId: otherChat.id, userId: user.id, role: "assistant" });
    expectError(await gateway.gql(VOTE, { c: chat.id, m: elsewhere.id, up: true }, token), "not_found:chat");
    expectError(await gateway.gql(VOTE, { c: chat.id, m: newId(), up: true }, token), "not_found:chat");
    expectError(await gateway.gql(VOTE, { c: newId(), m: elsewhere.id, up: true }, token), "not_found:chat");
    const stranger = await insertUser(prisma());
    const strangersChat = await insertChat(prisma(), { userId: stranger.id });
    const theirs = await insertMessage(prisma(), { chatId: strangersChat.id, userId: stranger.id, role: "assistant" });
    const none = await gateway.gql(VOTE, { c: chat.id, m: newId(), up: true }, token);
    // Another user's message gets the answer of a message that does not exist.
    expect(await gateway.gql(VOTE, { c: chat.id, m: theirs.id, up: true }, token)).toEqual(none);
    expect(await prisma().vote.count()).toBe(0);
  });

  test("Chat.votes lists the owner's votes; anyone else reading a public chat sees none", async () => {
    const { chat, token, user } = await ownerWithChat();
    await prisma().chat.update({ where: { id: chat.id }, data: { visibility: "public" } });
    const message = await insertMessage(prisma(), { chatId: chat.id, userId: user.id, role: "assistant" });
    expectOk(await gateway.gql(VOTE, { c: chat.id, m: message.id, up: false }, token));
    const VOTES = `query($id: ID!) { chat(id: $id) { votes { messageId isUpvoted } } }`;
    expect(expectOk(await gateway.gql(VOTES, { id: chat.id }, token)).chat.votes).toEqual([
      { messageId: message.id, isUpvoted: false },
    ]);
    const reader = await insertUser(prisma());
    const readerToken = await gateway.tokenFor({ id: reader.id });
    expect(expectOk(await gateway.gql(VOTES, { id: chat.id }, readerToken)).chat.votes).toEqual([]);
  });
});
