// The demo's words for a refusal or a failed turn (client/demo/refusal.ts).
import { expect, test } from "vitest";
import { plainRefusal } from "../client/demo/refusal.ts";
import { GatewayError } from "../client/gateway-error.ts";
import { failTurn, resumeState } from "../client/turn-state.ts";

const busy = {
  code: "offline:chat",
  message: "The server is busy and takes no new messages for now. Please send yours again in 5 seconds.",
};

test("a message turned away for a moment (overload, a deploy) is not sent: send it again, not 'the connection was lost'", () => {
  const words = plainRefusal(busy, { refused: true });
  expect(words).toMatch(/not sent/);
  expect(words).toMatch(/again in a few seconds/);
  expect(words).not.toMatch(/connection was lost/);
});

test("a turn that failed on the way says the answer could not be finished, and the gateway's reason why", () => {
  // StreamFailed's reason is a fixed sentence for the person: a model error is not a lost connection.
  const words = plainRefusal({
    code: "offline:chat",
    message: "The model ran into an error while answering. Try again.",
  });
  expect(words).toBe("The answer could not be finished. The model ran into an error while answering. Try again.");
  expect(words).not.toMatch(/connection/);
  // Whatever its code: a streamer's refusal mid-turn is not "change your message".
  expect(
    plainRefusal({ code: "bad_request:api", message: "The model's service refused this message. Try rephrasing." }),
  ).toMatch(/^The answer could not be finished\. The model's service refused/);
});

test("a lost connection says the answer may still be coming, not that it failed", () => {
  const words = plainRefusal({ code: "offline:chat", message: "fetch failed", network: true });
  expect(words).toMatch(/connection was lost/);
  expect(words).toMatch(/may still be coming/);
  expect(words).not.toMatch(/could not be finished/);
});

test("a refusal's codes keep their words", () => {
  expect(plainRefusal({ code: "rate_limit:chat", message: "" }, { refused: true })).toMatch(/as many messages/);
  expect(
    plainRefusal({ code: "bad_request:api", message: "must be at most 2000 characters" }, { refused: true }),
  ).toMatch(/at most 2,000 characters/);
});

test("a user with too many answers running is told to wait for one or stop one, not that the day's messages are spent", () => {
  const words = plainRefusal(
    { code: "rate_limit:chat", message: "You have 5 answers running at once…", reason: "too_many_running_turns" },
    { refused: true },
  );
  expect(words).toMatch(/Wait for one to finish, or stop one/);
  expect(words).not.toMatch(/24 hours/);
  expect(plainRefusal({ code: "rate_limit:chat", message: "quota" }, { refused: true })).toMatch(/24 hours/);
});

test("a refusal's reason reaches the page's turn state (the running-answers limit is not the quota)", () => {
  const state = failTurn(
    resumeState("chat"),
    new GatewayError([
      {
        message: "You have 1 answer running at once…",
        extensions: { code: "rate_limit:chat", reason: "too_many_running_turns" },
      },
    ]),
  );
  expect(plainRefusal(state.error!, { refused: true })).toMatch(/Wait for one to finish, or stop one/);
});
