// A source part's URL is a link every reader of the chat may follow (a public
// chat's readers included): http and https only, as a `javascript:` link would
// run in their pages. One rule for sources saved with saveMessages and sent
// by a streamer (the streamer's others are dropped: storable-chunks.ts).

export const SOURCE_URL_SCHEME = "must be an https or http URL";

/** Whether `value` is a URL a source part may link to. */
export function isSourceUrl(value: string): boolean {
  const parsed = URL.parse(value);
  return parsed !== null && (parsed.protocol === "https:" || parsed.protocol === "http:");
}
