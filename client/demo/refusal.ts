// What the demo tells a person when the gateway refuses a message or a turn
// fails: plain words for each Chat SDK code, never the validation path.

/** The gateway's default MAX_TEXT_LENGTH: characters in one text part. */
export const MAX_MESSAGE_CHARS = 2000;

const number = new Intl.NumberFormat("en");

/**
 * `refused`: the gateway turned the message away before its turn began
 * (nothing was stored or charged), as opposed to a turn that failed.
 */
export function plainRefusal(
  error: { code: string; message: string; reason?: string },
  { refused = false } = {},
): string {
  const [type, surface] = error.code.split(":");
  const limit = /at most (\d+) characters/.exec(error.message)?.[1];
  if (type === "bad_request" && limit) {
    return `This message is too long to send: a message can have at most ${number.format(Number(limit))} characters. Shorten it and send it again.`;
  }
  switch (type) {
    case "bad_request":
      return "This message could not be sent as it is. Change it and try again.";
    case "rate_limit":
      if (error.reason === "too_many_running_turns") {
        return "You have several answers still coming. Wait for one to finish, or stop one, then send this again.";
      }
      return "You have sent as many messages as you can today. Try again tomorrow, or sign in for more.";
    case "unauthorized":
      return "Your session has ended. Sign in again to go on.";
    case "forbidden":
      return surface === "chat" ? "This chat belongs to someone else." : "You are not allowed to do that.";
    case "not_found":
      return "This chat no longer exists.";
    case "offline":
      // Busy (overload), draining for a deploy, or its database or Redis not answering for a moment.
      return refused
        ? "The server could not take this message just now, so it was not sent. Send it again in a few seconds."
        : "The answer could not be finished: the connection was lost.";
    default:
      return "Something went wrong with this answer. Try again in a moment.";
  }
}

/** "1,234 / 2,000" */
export function charCount(text: string, limit = MAX_MESSAGE_CHARS): string {
  return `${number.format(text.length)} / ${number.format(limit)}`;
}
