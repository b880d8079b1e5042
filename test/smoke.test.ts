import { afterAll, beforeAll, expect, test } from "vitest";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(() => gateway.close());

test("a guest signs in and sees a full quota", async () => {
  const session = await gateway.gql(`mutation { createGuestSession { token user { id type messagesLeftToday } } }`);
  expect(session.errors).toBeUndefined();
  const { token, user } = session.data.createGuestSession;
  expect(user).toMatchObject({ type: "GUEST", messagesLeftToday: 20 });
  const me = await gateway.gql(`{ me { id type } }`, {}, token);
  expect(me.data.me).toEqual({ id: user.id, type: "GUEST" });
});
