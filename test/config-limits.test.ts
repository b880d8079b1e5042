// The configurable edge limits come from the Env the app is created with, not
// from the process environment read at import.
import { randomUUID } from "node:crypto";
import { expect, test } from "vitest";
import { expectError, newUser } from "./support/fixtures.ts";

import { useTestGateway } from "./support/gateway.ts";
import { sendInput, subscribeWithFetch } from "./support/sse.ts";

const gateway = useTestGateway(
  { MAX_TEXT_LENGTH: "10", MAX_PARTS_PER_MESSAGE: "2", MAX_MESSAGES_PER_CALL: "2", MAX_PAGE_SIZE: "3" },
  { resetEachTest: false },
);

async function signedIn() {
  const user = newUser();
  return { ...user, token: await gateway.tokenFor(user) };
}

function errorOf(result: { errors?: { message: string }[] }): string {
  return result.errors?.map((e) => e.message).join("; ") ?? "";
}

test("sendMessage refuses text over MAX_TEXT_LENGTH and parts over MAX_PARTS_PER_MESSAGE", async () => {
  const me = await signedIn();
  const long = await subscribeWithFetch(gateway.url, sendInput("x".repeat(11)), { token: me.token });
  expectError(long.results[0], "bad_request:api");
  expect(errorOf(long.results[0])).toContain("input.message.parts.0.text: must be at most 10 characters");

  const parts = sendInput("hi");
  parts.input.message.parts = [{ text: "a" }, { text: "b" }, { text: "c" }];
  const many = await subscribeWithFetch(gateway.url, parts, { token: me.token });
  expectError(many.results[0], "bad_request:api");
  expect(errorOf(many.results[0])).toContain("input.message.parts");

  const fits = await subscribeWithFetch(gateway.url, sendInput("x".repeat(10)), { token: me.token });
  expect(fits.events.at(-1)?.__typename).toBe("StreamFinished");
});

test("MAX_TEXT_LENGTH counts characters, an emoji as one, alike in sendMessage and saveMessages", async () => {
  const me = await signedIn();
  // Ten emoji are ten characters (twenty UTF-16 code units); eleven are too many.
  const tenEmoji = "😀".repeat(10);
  const fits = await subscribeWithFetch(gateway.url, sendInput(tenEmoji), { token: me.token });
  expect(fits.results[0].errors).toBeUndefined();
  expect(fits.events.at(-1)?.__typename).toBe("StreamFinished");
  const long = await subscribeWithFetch(gateway.url, sendInput("😀".repeat(11)), { token: me.token });
  expect(errorOf(long.results[0])).toContain("input.message.parts.0.text: must be at most 10 characters");

  const chatId = randomUUID();
  await gateway.gql(`mutation($id: ID!) { createChat(input: { id: $id }) { id } }`, { id: chatId }, me.token);
  const save = (text: string) =>
    gateway.gql(
      `mutation($c: ID!, $m: [MessageInput!]!) { saveMessages(chatId: $c, messages: $m) { id } }`,
      { c: chatId, m: [{ id: randomUUID(), role: "ASSISTANT", parts: [{ type: "text", text }] }] },
      me.token,
    );
  expect((await save(tenEmoji)).errors).toBeUndefined();
  const saved = await save("😀".repeat(11));
  expectError(saved, "bad_request:api");
  expect(errorOf(saved)).toContain("at most 10 characters");
});

test("saveMessages refuses more than MAX_MESSAGES_PER_CALL messages", async () => {
  const me = await signedIn();
  const chatId = randomUUID();
  await gateway.gql(`mutation($id: ID!) { createChat(input: { id: $id }) { id } }`, { id: chatId }, me.token);
  const message = () => ({ id: randomUUID(), role: "ASSISTANT", parts: [{ type: "text", text: "hi" }] });
  const result = await gateway.gql(
    `mutation($c: ID!, $m: [MessageInput!]!) { saveMessages(chatId: $c, messages: $m) { id } }`,
    { c: chatId, m: [message(), message(), message()] },
    me.token,
  );
  expectError(result, "bad_request:api");
  expect(errorOf(result)).toContain("messages: must be at most 2 messages");
  expect(await gateway.database.db.prisma.message.count({ where: { chatId } })).toBe(0);
});

test("a page larger than MAX_PAGE_SIZE is refused; MAX_PAGE_SIZE itself is fine", async () => {
  const me = await signedIn();
  const chats = `query($first: Int) { chats(first: $first) { edges { node { id } } } }`;
  const tooMany = await gateway.gql(chats, { first: 4 }, me.token);
  expectError(tooMany, "bad_request:api");
  expect(errorOf(tooMany)).toContain("first: must be at most 3");
  expect((await gateway.gql(chats, { first: 3 }, me.token)).errors).toBeUndefined();
});
