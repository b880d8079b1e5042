// sendMessage refusals: they arrive before any event as a GraphQL error in the
// SSE stream (`next` with errors, then `complete`), store nothing and never
// reach the streamer. Runs on PGlite and PostgreSQL.
import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { expectError, expectOk, failOnUnhandledRejections, newUser } from "./support/fixtures.ts";
import { respond, textTurn } from "./support/fake-streamer.ts";
import { useStreamerGateway, type GraphQLResult } from "./support/gateway.ts";
import { sendInput, subscribeWithClient, subscribeWithFetch } from "./support/sse.ts";

failOnUnhandledRejections();

const { fake, gateway } = useStreamerGateway({ QUOTA_GUEST_PER_DAY: "2" });

/**
 * Sends `variables` over both transports and checks each got one `next` with
 * `code` in its errors and no data, then `complete`, and that nothing reached
 * the streamer.
 */
async function expectRefused(variables: Record<string, unknown>, code: string, token: string | null) {
  const before = fake.requests.length;

  const viaFetch = await subscribeWithFetch(gateway.url, variables, { token });
  expect(viaFetch.status).toBe(200);
  expect(viaFetch.contentType).toContain("text/event-stream");
  expect(viaFetch.frames.map((frame) => frame.event)).toEqual(["next", "complete"]);
  expect(viaFetch.events).toEqual([]);
  expectOnlyError(viaFetch.results[0], code);

  const viaClient = await subscribeWithClient(gateway.url, variables, { token });
  expect(viaClient.error).toBeUndefined();
  expect(viaClient.events).toEqual([]);
  expect(viaClient.results).toHaveLength(1);
  expectOnlyError(viaClient.results[0], code);

  expect(fake.requests.length).toBe(before);
}

function expectOnlyError(result: GraphQLResult, code: string) {
  expectError(result, code);
  expect(result.data?.sendMessage ?? null).toBeNull();
}

async function expectNothingStored(variables: ReturnType<typeof sendInput>) {
  const prisma = gateway.database.db.prisma;
  expect(await prisma.message.findUnique({ where: { id: variables.input.message.id } })).toBeNull();
}

describe("refusals never reach the streamer", () => {
  it("quota exhausted: rate_limit:chat", async () => {
    const session = expectOk(await gateway.gql(`mutation { createGuestSession { token } }`));
    const { token } = session.createGuestSession;
    const chatId = randomUUID();
    const left = async () =>
      expectOk(await gateway.gql(`{ me { messagesLeftToday } }`, {}, token)).me.messagesLeftToday;
    expect(await left()).toBe(2);
    for (const text of ["one", "two"]) {
      const { events } = await subscribeWithFetch(gateway.url, sendInput(text, { chatId }), { token });
      expect(events.at(-1)!.__typename).toBe("StreamFinished");
    }
    expect(fake.requests.length).toBeGreaterThanOrEqual(2);
    expect(await left()).toBe(0);

    const refused = sendInput("three", { chatId });
    await expectRefused(refused, "rate_limit:chat", token);
    await expectNothingStored(refused);
    expect(await left()).toBe(0);
  });

  it("concurrent turns of one guest cannot overdraw the quota", async () => {
    const session = expectOk(await gateway.gql(`mutation { createGuestSession { token } }`));
    const { token } = session.createGuestSession;
    const before = fake.requests.length;
    const results = await Promise.all(
      ["a", "b", "c", "d"].map((text) => subscribeWithFetch(gateway.url, sendInput(text), { token })),
    );
    const finished = results.filter((r) => r.events.at(-1)?.__typename === "StreamFinished");
    const refused = results.filter((r) => r.events.length === 0);
    expect(finished).toHaveLength(2);
    expect(refused).toHaveLength(2);
    for (const r of refused) expectOnlyError(r.results[0], "rate_limit:chat");
    expect(fake.requests.length - before).toBe(2);
  });

  it("another user's chat: forbidden:chat", async () => {
    const owner = await gateway.tokenFor(newUser());
    const other = await gateway.tokenFor(newUser());
    const chatId = randomUUID();
    const { events } = await subscribeWithFetch(gateway.url, sendInput("mine", { chatId }), { token: owner });
    expect(events.at(-1)!.__typename).toBe("StreamFinished");

    const refused = sendInput("yours now", { chatId });
    await expectRefused(refused, "forbidden:chat", other);
    await expectNothingStored(refused);
    // A public chat is readable by others, not writable.
    expectOk(
      await gateway.gql(`mutation { updateChatVisibility(id: "${chatId}", visibility: PUBLIC) { id } }`, {}, owner),
    );
    await expectRefused(sendInput("still yours", { chatId }), "forbidden:chat", other);
  });

  it("two users racing to create the same chat: one turn runs, the other gets forbidden:chat", async () => {
    const tokens = await Promise.all([gateway.tokenFor(newUser()), gateway.tokenFor(newUser())]);
    for (let round = 0; round < 3; round++) {
      const chatId = randomUUID();
      const before = fake.requests.length;
      const results = await Promise.all(
        tokens.map((token) => subscribeWithFetch(gateway.url, sendInput("mine!", { chatId }), { token })),
      );
      const ran = results.filter((r) => r.events.length > 0);
      const refused = results.filter((r) => r.events.length === 0);
      expect(ran).toHaveLength(1);
      expect(ran[0].events.at(-1)!.__typename).toBe("StreamFinished");
      expect(refused).toHaveLength(1);
      expectOnlyError(refused[0].results[0], "forbidden:chat");
      expect(fake.requests.length - before).toBe(1);
    }
  });

  describe("bad input: bad_request:api", () => {
    const withParts = (parts: unknown[], overrides: Record<string, unknown> = {}) => ({
      input: { chatId: randomUUID(), message: { id: randomUUID(), parts }, ...overrides },
    });
    const cases: [string, () => Record<string, unknown>][] = [
      ["a chatId that is not a UUID", () => withParts([{ text: "hi" }], { chatId: "not-a-uuid" })],
      [
        "a message id that is not a UUID",
        () => ({ input: { chatId: randomUUID(), message: { id: "m1", parts: [{ text: "hi" }] } } }),
      ],
      ["empty text", () => withParts([{ text: "" }])],
      ["text of white space only", () => withParts([{ text: " \n\t\u3000 " }])],
      ["a NUL (U+0000) in the text", () => withParts([{ text: "hi\u0000" }])],
      ["an unpaired surrogate in the text", () => withParts([{ text: "hi \ud83d" }])],
      [
        "a NUL in a file name",
        () =>
          withParts([{ file: { mediaType: "image/png", url: "https://example.com/a.png", filename: "a\u0000.png" } }]),
      ],
      ["text over 2000 characters", () => withParts([{ text: "x".repeat(2001) }])],
      [
        "a part with both text and file",
        () => withParts([{ text: "hi", file: { mediaType: "image/png", url: "https://example.com/a.png" } }]),
      ],
      ["a part with neither text nor file", () => withParts([{}])],
      ["no parts", () => withParts([])],
      ["an empty model name", () => withParts([{ text: "hi" }], { model: "" })],
      ["a model name over 100 characters", () => withParts([{ text: "hi" }], { model: "m".repeat(101) })],
      ["a NUL in the model name", () => withParts([{ text: "hi" }], { model: "a\u0000" })],
      ["an unpaired surrogate in the model name", () => withParts([{ text: "hi" }], { model: "a\ud800" })],
      // A model id the operator did not list (CHAT_MODELS): another provider model, billed to the operator's key.
      ["a model id not among CHAT_MODELS", () => withParts([{ text: "hi" }], { model: "o1-pro" })],
      ["a file with a bad URL", () => withParts([{ file: { mediaType: "image/png", url: "not a url" } }])],
      [
        // Each part within its characters, the whole over the parts' bound in UTF-8 bytes (not in UTF-16 units).
        "32 parts of 2000 emoji (256,000 bytes of JSON)",
        () => withParts(Array.from({ length: 32 }, () => ({ text: "😀".repeat(2000) }))),
      ],
    ];
    for (const [name, variables] of cases) {
      it(name, async () => {
        const token = await gateway.tokenFor(newUser());
        const vars = variables();
        await expectRefused(vars, "bad_request:api", token);
        const chatId = (vars.input as { chatId: string }).chatId;
        if (/^[0-9a-f-]{36}$/.test(chatId)) {
          expect(await gateway.database.db.prisma.chat.findUnique({ where: { id: chatId } })).toBeNull();
        }
      });
    }

    it("a model id not among CHAT_MODELS is refused naming the ids allowed; a listed one is sent to the streamer", async () => {
      const token = await gateway.tokenFor(newUser());
      const refused = await subscribeWithFetch(gateway.url, withParts([{ text: "hi" }], { model: "gpt-4.5-preview" }), {
        token,
      });
      expect(refused.results[0].errors?.[0]?.message).toBe(
        "input.model: must be one of chat-model, chat-model-reasoning",
      );
      fake.handle(respond(textTurn("Fine.")));
      const { events } = await subscribeWithFetch(
        gateway.url,
        withParts([{ text: "hi" }], { model: "chat-model-reasoning" }),
        { token },
      );
      expect(events.at(-1)!.__typename).toBe("StreamFinished");
      expect(fake.requests.at(-1)!.body.selectedChatModel).toBe("chat-model-reasoning");
    });

    it("text of exactly 2000 characters is accepted", async () => {
      const token = await gateway.tokenFor(newUser());
      const { events } = await subscribeWithFetch(gateway.url, sendInput("y".repeat(2000)), { token });
      expect(events.at(-1)!.__typename).toBe("StreamFinished");
    });

    it("a message id that is already stored", async () => {
      const token = await gateway.tokenFor(newUser());
      const first = sendInput("once");
      const { events } = await subscribeWithFetch(gateway.url, first, { token });
      expect(events.at(-1)!.__typename).toBe("StreamFinished");
      await expectRefused(
        sendInput("twice", { chatId: first.input.chatId, messageId: first.input.message.id }),
        "bad_request:api",
        token,
      );
    });
  });

  it("a message id held in another user's chat gets the answer one of the caller's own gets", async () => {
    const owner = await gateway.tokenFor(newUser());
    const first = sendInput("mine");
    expect((await subscribeWithFetch(gateway.url, first, { token: owner })).events.at(-1)!.__typename).toBe(
      "StreamFinished",
    );
    const answer = async (token: string, chatId: string) => {
      const again = sendInput("again", { chatId, messageId: first.input.message.id });
      await expectRefused(again, "bad_request:api", token);
      const { results } = await subscribeWithFetch(gateway.url, again, { token });
      return JSON.stringify(results).replaceAll(chatId, "<chat>");
    };
    const own = await answer(owner, first.input.chatId);
    const stranger = await answer(await gateway.tokenFor(newUser()), randomUUID());
    expect(stranger).toBe(own);
    expect(stranger).not.toMatch(/exist|another/i);
  });

  it("no token or a bad token: unauthorized:chat", async () => {
    const variables = sendInput("who am I?");
    await expectRefused(variables, "unauthorized:chat", null);
    await expectRefused(variables, "unauthorized:chat", "not-a-jwt");
    const forged = await new SignJWT({ type: "regular" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("someone")
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(new TextEncoder().encode("a-different-secret-that-is-long-enough-0123"));
    await expectRefused(variables, "unauthorized:chat", forged);
    const expired = await new SignJWT({ type: "regular" })
      .setProtectedHeader({ alg: "HS256" })
      .setSubject("someone")
      .setIssuedAt(Math.floor(Date.now() / 1000) - 7200)
      .setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
      .sign(new TextEncoder().encode(gateway.env.AUTH_SECRET));
    await expectRefused(variables, "unauthorized:chat", expired);
    await expectNothingStored(variables);
    expect(await gateway.database.db.prisma.chat.findUnique({ where: { id: variables.input.chatId } })).toBeNull();
  });
});
