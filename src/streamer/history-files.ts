/**
 * Files in a chat's history that the model cannot take by URL.
 *
 * The AI SDK downloads every such file of the prompt on every call, and one
 * that fails (a deleted upload, a host that is down, a URL its downloader
 * refuses) fails the whole call: one bad attachment would fail every later
 * turn of the chat. The streamer downloads the history's files first, with
 * the SDK's own downloader (same rules: http, https and data URLs, no private
 * hosts), and leaves out of the prompt, with a warning in the log and a short
 * note in its place, any it cannot get. The new message's files are left to
 * the SDK: a file the user just attached that cannot be read fails that turn
 * only, so the user learns of it.
 *
 * URLs the model takes as they are (its `supportedUrls`, e.g. OpenAI's image
 * URLs, or any URL for the mock model) are passed on unchanged, as the Chat
 * SDK does; fetching them is the provider's business.
 */
import { isUrlSupported } from "@ai-sdk/provider-utils";
import { createDownload, type ModelMessage } from "ai";
import { log } from "../log.ts";

type UserContent = Extract<ModelMessage, { role: "user" }>["content"];
type UserPart = Exclude<UserContent, string>[number];
type FilePart = Extract<UserPart, { type: "file" }>;

/** The SDK's `download` for one request: bytes and the served media type, or a DownloadError. */
export type DownloadOne = (request: {
  url: URL;
  abortSignal?: AbortSignal;
}) => Promise<{ data: Uint8Array; mediaType: string | undefined }>;

const defaultDownload: DownloadOne = createDownload();

/**
 * `history` with each user file the model cannot take by URL downloaded and
 * inlined, or, when that fails, replaced by a text note. Messages without
 * such files are returned as they are.
 */
export async function resolveHistoryFiles(
  history: ModelMessage[],
  options: {
    supportedUrls: Record<string, RegExp[]>;
    chatId: string;
    abortSignal?: AbortSignal;
    download?: DownloadOne;
  },
): Promise<ModelMessage[]> {
  const download = options.download ?? defaultDownload;
  const needsDownload = (part: UserPart): part is FilePart => {
    const url = remoteUrlOf(part);
    return (
      url !== null &&
      !isUrlSupported({ url, mediaType: (part as FilePart).mediaType, supportedUrls: options.supportedUrls })
    );
  };
  if (!history.some((m) => m.role === "user" && typeof m.content !== "string" && m.content.some(needsDownload))) {
    return history;
  }

  // One download per URL, however often the history holds it.
  const downloads = new Map<string, Promise<{ data: Uint8Array; mediaType: string | undefined } | null>>();
  const fetchOnce = (url: string) => {
    let pending = downloads.get(url);
    if (!pending) {
      pending = download({ url: new URL(url), abortSignal: options.abortSignal }).catch((error: unknown) => {
        // A cancelled turn is not the file's fault; let the call see the abort.
        if (options.abortSignal?.aborted) throw error;
        log.warn("streamer left a history file out of the prompt", {
          chatId: options.chatId,
          url: url.length > 200 ? `${url.slice(0, 200)}…` : url,
          error: error instanceof Error ? error.message : String(error),
        });
        return null;
      });
      downloads.set(url, pending);
    }
    return pending;
  };

  return Promise.all(
    history.map(async (message): Promise<ModelMessage> => {
      if (message.role !== "user" || typeof message.content === "string" || !message.content.some(needsDownload)) {
        return message;
      }
      const content = await Promise.all(
        message.content.map(async (part): Promise<UserPart> => {
          if (!needsDownload(part)) return part;
          const file = await fetchOnce(remoteUrlOf(part)!);
          if (file === null) return { type: "text", text: unavailableNote(part) };
          const mediaType = part.mediaType.includes("/") || !file.mediaType ? part.mediaType : file.mediaType;
          return { ...part, mediaType, data: { type: "data", data: file.data } };
        }),
      );
      return { ...message, content };
    }),
  );
}

/** The http(s) URL a user file part points at, or null (inline data, data: URLs, references). */
function remoteUrlOf(part: UserPart): string | null {
  if (part.type !== "file") return null;
  const data = part.data;
  let url: string | null = null;
  if (data instanceof URL) url = data.href;
  else if (typeof data === "object" && data !== null && "type" in data && data.type === "url") url = String(data.url);
  else if (typeof data === "string" && /^https?:/i.test(data)) url = data;
  return url !== null && !/^data:/i.test(url) ? url : null;
}

function unavailableNote(part: FilePart): string {
  const name = part.filename ? `"${part.filename}" ` : "";
  return `[An attachment ${name}(${part.mediaType}) was here but could not be loaded.]`;
}
