import { expect, test } from "vitest";
import { useTestGateway } from "./support/gateway.ts";

const gateway = useTestGateway();

test("a guest signs in and sees a full quota", async () => {
  const session = await gateway.gql(`mutation { createGuestSession { token user { id type messagesLeftToday } } }`);
  expect(session.errors).toBeUndefined();
  const { token, user } = session.data.createGuestSession;
  expect(user).toMatchObject({ type: "GUEST", messagesLeftToday: 20 });
  const me = await gateway.gql(`{ me { id type } }`, {}, token);
  expect(me.data.me).toEqual({ id: user.id, type: "GUEST" });
});
