// The demo's words for a refusal or a failed turn (client/demo/refusal.ts).
import { expect, test } from "vitest";
import { plainRefusal } from "../client/demo/refusal.ts";

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

test("a turn that failed on the way says the answer could not be finished", () => {
  expect(plainRefusal({ code: "offline:chat", message: "The model's side did not answer." })).toMatch(
    /could not be finished/,
  );
});

test("a refusal's other codes keep their words, refused or not", () => {
  for (const refused of [true, false]) {
    expect(plainRefusal({ code: "rate_limit:chat", message: "" }, { refused })).toMatch(/as many messages/);
    expect(plainRefusal({ code: "bad_request:api", message: "must be at most 2000 characters" }, { refused })).toMatch(
      /at most 2,000 characters/,
    );
  }
});

test("a user with too many answers running is told to wait for one or stop one, not that the day's messages are spent", () => {
  const words = plainRefusal(
    { code: "rate_limit:chat", message: "You have 5 answers running at once…", reason: "too_many_running_turns" },
    { refused: true },
  );
  expect(words).toMatch(/Wait for one to finish, or stop one/);
  expect(words).not.toMatch(/tomorrow/);
  expect(plainRefusal({ code: "rate_limit:chat", message: "quota" })).toMatch(/tomorrow/);
});
