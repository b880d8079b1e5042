import { z } from "zod";
import { fixedLimits } from "../config/limits.ts";
import { ChatSDKError } from "../errors.ts";
import { isStorable } from "../db/storable-text.ts";
import { FILE_URL_SCHEME, isFileUrl } from "../source-urls.ts";

// Lower case, as the database hands ids back: a client writing them in upper case
// (Swift's UUID().uuidString) must find the same chat in every comparison and map.
export const uuid = z.guid({ message: "must be a UUID" }).transform((id) => id.toLowerCase());

// The page size's upper bound (MAX_PAGE_SIZE) is checked where the page is read.
export const pageArgs = z.object({
  first: z.number().int().min(0).nullish(),
  after: z.string().max(200).nullish(),
});

export const MEDIA_TYPE = "must be a media type such as image/png";

/** A media type as a user's file part must name one (type/subtype). */
export function isMediaType(value: string): boolean {
  return /^[\w.+-]+\/[\w.+-]+$/.test(value);
}

export const UNSTORABLE = "must not contain U+0000 or an unpaired surrogate";

/** The path of the first string (key or value) in JSON `value` that is not storable, or null. */
export function unstorablePath(value: unknown, path: PropertyKey[] = []): PropertyKey[] | null {
  if (typeof value === "string") return isStorable(value) ? null : path;
  if (typeof value !== "object" || value === null) return null;
  for (const [key, item] of Array.isArray(value) ? value.entries() : Object.entries(value)) {
    if (typeof key === "string" && !isStorable(key)) return [...path, key];
    const found = unstorablePath(item, [...path, key]);
    if (found) return found;
  }
  return null;
}

/** Text a user sends: at least one character that is not white space (anything else spends quota on nothing). */
export function isBlank(value: string): boolean {
  return value.trim() === "";
}

export const BLANK = "must not be blank";

/** A user string the gateway stores. */
export const storable = z.string().refine(isStorable, UNSTORABLE);

export const title = storable.trim().min(1).max(fixedLimits.maxTitleLength);

/** Text a user sends, of at most `maxLength` characters (MAX_TEXT_LENGTH). */
export function textUpTo(maxLength: number) {
  return storable.max(maxLength, `must be at most ${maxLength} characters`).refine((value) => !isBlank(value), BLANK);
}

export const url = storable.max(fixedLimits.maxUrlLength).url();

/**
 * A file part's URL: a URL of at most `maxUrlLength` characters with a scheme
 * a model can use (an unparseable one gets `.url()`'s message alone).
 */
export const fileUrl = url.refine((value) => !URL.canParse(value) || isFileUrl(value), FILE_URL_SCHEME);

type Issue = { message: string; path?: ReadonlyArray<PropertyKey | { key: PropertyKey }> };

/** `bad_request:api` naming each problem with its path, e.g. `input.message.parts.0.text: must not be blank`. */
export function invalidInput(issues: readonly Issue[], prefix: PropertyKey[] = []): ChatSDKError {
  return new ChatSDKError("bad_request:api", issues.map((issue) => describeIssue(issue, prefix)).join("; "));
}

function describeIssue(issue: Issue, prefix: PropertyKey[]): string {
  const path = [...prefix, ...(issue.path ?? [])].map((p) => String(typeof p === "object" ? p.key : p)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
