// A chat must not be broken for good by what it stores: sendMessage refuses
// file URLs a model cannot use (before anything is stored), and the built-in
// streamer (mock model) still answers a chat whose history holds a file that
// cannot be fetched or a system message stored with saveMessages.
// Offline; runs on PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  expectError,
  expectOk,
  failOnUnhandledRejections,
  insertChat,
  insertUser,
  SAVE_MESSAGES,
  textMessage,
} from "./support/fixtures.ts";
import { useTestGateway } from "./support/gateway.ts";
import { sendInput, streamedText, subscribeWithFetch } from "./support/sse.ts";

failOnUnhandledRejections();

// No STREAMER_URL: the gateway starts the built-in streamer, whose model is the mock.
const gateway = useTestGateway();
const prisma = () => gateway.database.db.prisma;

async function ownerWithChat() {
  const user = await insertUser(prisma());
  const token = await gateway.tokenFor({ id: user.id });
  const chat = await insertChat(prisma(), { userId: user.id });
  return { user, token, chat };
}

function withFile(url: string, options: { chatId?: string; mediaType?: string } = {}) {
  return {
    input: {
      chatId: options.chatId ?? randomUUID(),
      message: {
        id: randomUUID(),
        parts: [{ text: "[plain] see the file" }, { file: { mediaType: options.mediaType ?? "image/png", url } }],
      },
    },
  };
}

async function expectAnswered(chatId: string, token: string, text: string) {
  const { events } = await subscribeWithFetch(gateway.url, sendInput(text, { chatId }), { token });
  expect(events.at(-1), JSON.stringify(events.at(-1))).toMatchObject({ __typename: "StreamFinished" });
  expect(streamedText(events)).toContain(`You said: "${text}"`);
}

describe("sendMessage file URLs", () => {
  for (const url of ["javascript:alert(1)", "file:///etc/passwd", "ftp://example.com/cat.png", "blob:https://a.b/1"]) {
    it(`refuses ${url.split(":")[0]}: with bad_request:api naming the field, storing nothing`, async () => {
      const { user, token } = await ownerWithChat();
      const variables = withFile(url);
      const { events, results } = await subscribeWithFetch(gateway.url, variables, { token });
      expect(events).toEqual([]);
      expectError(results[0], "bad_request:api");
      expect(results[0].errors![0].message).toContain(
        "input.message.parts.1.file.url: must be an https, http or data URL",
      );
      expect(await prisma().chat.findUnique({ where: { id: variables.input.chatId } })).toBeNull();
      expect(await prisma().message.count({ where: { userId: user.id } })).toBe(0);
    });
  }

  it("takes https, http and data URLs", async () => {
    const { token } = await ownerWithChat();
    for (const url of [
      "https://example.com/cat.png",
      "http://example.com/cat.png",
      "data:image/png;base64,iVBORw0KGgo=",
    ]) {
      const { events } = await subscribeWithFetch(gateway.url, withFile(url), { token });
      expect(events.at(-1), url).toMatchObject({ __typename: "StreamFinished" });
    }
  });
});

describe("a chat with an attachment that cannot be fetched", () => {
  it("keeps answering after a turn with an unfetchable https file (the machine is offline)", async () => {
    const { token } = await ownerWithChat();
    const chatId = randomUUID();
    const first = await subscribeWithFetch(gateway.url, withFile("https://example.com/cat.png", { chatId }), { token });
    expect(first.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
    for (const text of ["[plain] just text", "[plain] more text"]) await expectAnswered(chatId, token, text);
  });

  it("keeps answering with such files saved with saveMessages", async () => {
    const { token, chat } = await ownerWithChat();
    const files = [
      ["https://example.invalid/cat.png", "image/png"],
      ["https://example.com/report.pdf", "application/pdf"],
      ["http://localhost/cat.png", "image/png"],
    ];
    const messages = [
      { id: randomUUID(), role: "USER", parts: files.map(([url, mediaType]) => ({ type: "file", url, mediaType })) },
      textMessage("seen", "ASSISTANT"),
    ];
    expectOk(await gateway.gql(SAVE_MESSAGES, { chatId: chat.id, messages }, token));
    await expectAnswered(chat.id, token, "[plain] just text");
    await expectAnswered(chat.id, token, "and the weather in Oslo?");
  });

  it("keeps answering with a javascript: file stored before the edge refused it", async () => {
    const { user, token, chat } = await ownerWithChat();
    await prisma().message.create({
      data: {
        id: randomUUID(),
        chatId: chat.id,
        userId: user.id,
        role: "user",
        parts: [{ type: "file", mediaType: "image/png", url: "javascript:alert(1)" }],
        attachments: [],
      },
    });
    await expectAnswered(chat.id, token, "[plain] just text");
  });
});

describe("a chat with a stored system message", () => {
  it("keeps answering after saveMessages stored a SYSTEM message", async () => {
    const { token } = await ownerWithChat();
    const chatId = randomUUID();
    await expectAnswered(chatId, token, "[plain] hello");
    const saved = expectOk(
      await gateway.gql(SAVE_MESSAGES, { chatId, messages: [textMessage("Answer in French.", "SYSTEM")] }, token),
    );
    expect(saved.saveMessages[0].role).toBe("SYSTEM");
    for (const text of ["[plain] again", "the weather in Lyon?"]) await expectAnswered(chatId, token, text);
  });
});
