import { safeValidateUIMessages, type UIMessage } from "ai";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../config/json-depth.ts";
import { fixedLimits, type MessageLimits } from "../config/limits.ts";
import { ChatSDKError } from "../errors.ts";
import { FILE_URL_SCHEME, isFileUrl, isSourceUrl, SOURCE_URL_SCHEME } from "../source-urls.ts";
import { BLANK, isBlank, isMediaType, MEDIA_TYPE, UNSTORABLE, unstorablePath } from "./validation.ts";

/**
 * Checks incoming messages with the AI SDK's own UIMessage validator, then the
 * gateway's size bounds; refuses with `bad_request:api` naming the first problem.
 */
export async function validateUIMessages(messages: UIMessage[], limits: MessageLimits): Promise<UIMessage[]> {
  // First: the AI SDK's validator (and the checks after it) walk parts recursively.
  for (const [index, message] of messages.entries()) {
    if (nestsDeeperThan((message as { parts?: unknown } | null)?.parts)) {
      throw badPart(index, `parts must nest at most ${MAX_JSON_DEPTH} levels of arrays and objects`);
    }
  }
  const result = await safeValidateUIMessages({ messages });
  if (!result.success) throw new ChatSDKError("bad_request:api", `Invalid message parts: ${firstIssue(result.error)}`);
  return checkMessageBounds(result.data, limits);
}

/**
 * The gateway's bounds on messages already known to be UIMessages: sizes,
 * strings PostgreSQL can store, file URLs a model can use, and no blank text
 * from users. Refuses with
 * `bad_request:api`.
 */
export function checkMessageBounds(messages: UIMessage[], limits: MessageLimits): UIMessage[] {
  for (const [index, message] of messages.entries()) {
    if (message.parts.length === 0) throw badPart(index, "must have at least one part");
    if (message.parts.length > limits.MAX_PARTS_PER_MESSAGE) {
      throw badPart(index, `must have at most ${limits.MAX_PARTS_PER_MESSAGE} parts`);
    }
    for (const [at, part] of message.parts.entries()) {
      if (part.type === "file" && !isFileUrl(part.url)) throw badPart(index, `parts.${at}.url: ${FILE_URL_SCHEME}`);
      // What a user attaches, as sendMessage checks it; a model's files are stored as they came.
      if (message.role === "user" && part.type === "file" && !isMediaType(part.mediaType)) {
        throw badPart(index, `parts.${at}.mediaType: ${MEDIA_TYPE}`);
      }
      if ((part.type === "file" || part.type === "source-url") && part.url.length > fixedLimits.maxUrlLength) {
        throw badPart(index, `parts.${at}.url: must be at most ${fixedLimits.maxUrlLength} characters`);
      }
      if (part.type === "source-url" && !isSourceUrl(part.url))
        throw badPart(index, `parts.${at}.url: ${SOURCE_URL_SCHEME}`);
      if (part.type !== "text") continue;
      if (characters(part.text) > limits.MAX_TEXT_LENGTH) {
        throw badPart(index, `a text part must be at most ${limits.MAX_TEXT_LENGTH} characters`);
      }
      // Models do send white space between steps; users have nothing to say in it.
      if (message.role === "user" && isBlank(part.text)) throw badPart(index, `parts.${at}.text: ${BLANK}`);
    }
    const unstorable = unstorablePath(message.parts, ["parts"]);
    if (unstorable) throw badPart(index, `${unstorable.map(String).join(".")}: ${UNSTORABLE}`);
    if (Buffer.byteLength(JSON.stringify(message.parts), "utf8") > fixedLimits.maxPartsBytes) {
      throw badPart(index, `parts must be at most ${fixedLimits.maxPartsBytes} bytes of JSON`);
    }
  }
  return messages;
}

/**
 * Characters as zod's `max` counts them in the GraphQL input (code points: an
 * emoji is one), so that sendMessage's two checks and saveMessages agree.
 */
function characters(text: string): number {
  // UTF-16 length is an upper bound, and exact without surrogates: most texts skip the count.
  if (text.length <= 1 || !/[\ud800-\udfff]/.test(text)) return text.length;
  let count = 0;
  for (const _ of text) count++;
  return count;
}

function badPart(index: number, problem: string) {
  return new ChatSDKError("bad_request:api", `messages.${index}: ${problem}`);
}

function firstIssue(error: Error): string {
  const issues = (error.cause as { issues?: { path: PropertyKey[]; message: string }[] } | undefined)?.issues;
  const issue = issues?.[0];
  if (!issue) return error.message;
  return `${issue.path.map(String).join(".")}: ${issue.message}`;
}
