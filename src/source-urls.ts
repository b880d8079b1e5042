// The URLs a stored part may hold: one rule for parts a client sends
// (sendMessage, saveMessages: refused) and parts a streamer sends (dropped:
// storable-chunks.ts). A source part's URL is a link every reader of the chat
// may follow (a public chat's readers included): http and https only, as a
// `javascript:` link would run in their pages. A file part's is read by the
// model of every later turn and shown to readers as a link: data URLs too.

export const SOURCE_URL_SCHEME = "must be an https or http URL";

/** Whether `value` is a URL a source part may link to. */
export function isSourceUrl(value: string): boolean {
  const parsed = URL.parse(value);
  return parsed !== null && (parsed.protocol === "https:" || parsed.protocol === "http:");
}

/**
 * The URL schemes a model can take a file from: the AI SDK reads `data:` URLs
 * itself and downloads only `http:` and `https:` ones (its `download` refuses
 * any other scheme, which would fail every later turn of the chat).
 */
export const FILE_URL_SCHEMES: ReadonlySet<string> = new Set(["https:", "http:", "data:"]);

export const FILE_URL_SCHEME = "must be an https, http or data URL";

/** Whether `value` is a URL with a scheme a model can take a file from. */
export function isFileUrl(value: string): boolean {
  const parsed = URL.parse(value);
  return parsed !== null && FILE_URL_SCHEMES.has(parsed.protocol);
}
