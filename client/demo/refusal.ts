// What the demo tells a person when the gateway refuses a message or a turn
// fails: plain words for each Chat SDK code, never the validation path.
import { pageSetting } from "./page-settings.ts";

/**
 * The gateway's MAX_TEXT_LENGTH, characters in one text part: the gateway
 * writes it into the page (a meta tag); 2,000, its default, elsewhere.
 */
export const MAX_MESSAGE_CHARS = gatewayTextLimit() ?? 2000;

function gatewayTextLimit(): number | null {
  const limit = Number(pageSetting("max-text-length"));
  return Number.isInteger(limit) && limit > 0 ? limit : null;
}

const number = new Intl.NumberFormat("en");

/**
 * `refused`: the gateway turned the message away before its turn began
 * (nothing was stored or charged), as opposed to a turn that failed.
 */
export function plainRefusal(
  error: { code: string; message: string; reason?: string; network?: boolean },
  { refused = false } = {},
): string {
  if (error.network) {
    // The turn may well go on without this page: it is stored, and Reconnect (or a reload) follows it again.
    return "The connection was lost, so this page stopped following the answer; it may still be coming: reconnect or reload to follow it.";
  }
  // A turn that failed on the way: the gateway's reason is a fixed sentence written for the person.
  if (!refused) return error.message ? `The answer could not be finished. ${error.message}` : FAILED;
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
      return "You have sent as many messages as you can for now: each one counts for 24 hours after it was sent. Try again later.";
    case "unauthorized":
      return "Your session has ended. Sign in again to go on.";
    case "forbidden":
      return surface === "chat" ? "This chat belongs to someone else." : "You are not allowed to do that.";
    case "not_found":
      return "This chat no longer exists.";
    case "offline":
      // Busy (overload), draining for a deploy, or its database or Redis not answering for a moment.
      return "The server could not take this message just now, so it was not sent. Send it again in a few seconds.";
    default:
      return FAILED;
  }
}

const FAILED = "Something went wrong with this answer. Try again in a moment.";

/** Why the chat list or a chat did not load (the page offers to try again): the gateway's words, or plain ones for a server out of reach. */
export function plainLoadError(error: { message: string; network?: boolean }): string {
  return error.network ? "The server cannot be reached just now." : error.message;
}

/** "1,234 / 2,000" */
export function charCount(text: string, limit = MAX_MESSAGE_CHARS): string {
  return `${number.format(text.length)} / ${number.format(limit)}`;
}
