// The built-in streamer with a chat history a model call cannot take as it is:
// files that cannot be fetched, and system messages stored with saveMessages.
// Neither may fail every later turn of the chat. Offline: no test fetches.
import type { ModelMessage, UIMessage, UIMessageChunk } from "ai";
import { describe, expect, it } from "vitest";
import { parseEnv } from "../src/config/env.ts";
import { resolveHistoryFiles, type DownloadOne } from "../src/streamer/history-files.ts";
import { promptOf, streamChatTurn } from "../src/streamer/turn.ts";

const env = parseEnv({ MOCK_DELTA_DELAY_MS: "0", LOG_LEVEL: "silent" });

async function turnChunks(existingMessages: UIMessage[], text: string): Promise<UIMessageChunk[]> {
  const stream = streamChatTurn({
    env,
    chatId: "chat-1",
    message: { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text }] },
    existingMessages,
    selectedChatModel: "chat-model",
  });
  const chunks: UIMessageChunk[] = [];
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) chunks.push(next.value);
  return chunks;
}

function expectAnswered(chunks: UIMessageChunk[], text: string) {
  expect(chunks.filter((c) => c.type === "error")).toEqual([]);
  const answer = chunks.flatMap((c) => (c.type === "text-delta" ? [c.delta] : [])).join("");
  expect(answer).toContain(`You said: "${text}"`);
  expect(chunks.at(-1)?.type).toBe("finish");
}

const userWithFile = (url: string, mediaType = "image/png"): UIMessage => ({
  id: crypto.randomUUID(),
  role: "user",
  parts: [
    { type: "text", text: "see the file" },
    { type: "file", mediaType, url, filename: "cat.png" },
  ],
});

const assistant = (text: string): UIMessage => ({
  id: crypto.randomUUID(),
  role: "assistant",
  parts: [{ type: "text", text }],
});

describe("history files in the built-in streamer (mock model)", () => {
  for (const url of [
    "https://example.invalid/cat.png", // offline: cannot be fetched
    "https://example.com/report.pdf",
    "http://localhost/cat.png", // refused by the SDK's downloader
    "javascript:alert(1)", // stored before the edge refused such schemes
    "file:///etc/passwd",
  ]) {
    it(`answers later turns of a chat holding ${url}`, async () => {
      const history = [userWithFile(url, url.endsWith(".pdf") ? "application/pdf" : "image/png"), assistant("ok")];
      for (const text of ["[plain] just text", "what is the weather in Paris?"]) {
        expectAnswered(await turnChunks(history, text), text);
      }
    });
  }
});

describe("system messages in the history", () => {
  it("answers later turns of a chat holding a stored system message", async () => {
    const history: UIMessage[] = [
      { id: crypto.randomUUID(), role: "user", parts: [{ type: "text", text: "hello" }] },
      assistant("hi"),
      { id: crypto.randomUUID(), role: "system", parts: [{ type: "text", text: "Answer in French." }] },
    ];
    for (const text of ["[plain] again", "and the weather in Rome?"]) {
      expectAnswered(await turnChunks(history, text), text);
    }
  });

  it("puts them after the streamer's own instructions, in order, and keeps the rest", async () => {
    const converted: ModelMessage[] = [
      { role: "system", content: "First rule." },
      { role: "user", content: [{ type: "text", text: "hello" }] },
      { role: "assistant", content: [{ type: "text", text: "hi" }] },
      { role: "system", content: "Second rule." },
      { role: "user", content: [{ type: "text", text: "now" }] },
    ];
    const prompt = await promptOf(converted, { supportedUrls: {}, chatId: "chat-1" });
    expect(prompt.instructions.map((m) => m.content)).toEqual([
      expect.stringContaining("friendly assistant"),
      "First rule.",
      "Second rule.",
    ]);
    expect(prompt.messages).toEqual(converted.filter((m) => m.role !== "system"));
  });
});

describe("resolveHistoryFiles (a model that takes no file URLs, e.g. OpenAI chat for a PDF)", () => {
  const file = (url: string, mediaType = "application/pdf", filename?: string) => ({
    type: "file" as const,
    mediaType,
    data: { type: "url" as const, url: new URL(url) },
    ...(filename ? { filename } : {}),
  });
  const bytes = new Uint8Array([37, 80, 68, 70]);

  it("inlines the files it can download and leaves out, with a note, those it cannot", async () => {
    const requested: string[] = [];
    const download: DownloadOne = async ({ url }) => {
      requested.push(url.href);
      if (url.hostname === "ok.example") return { data: bytes, mediaType: "application/pdf" };
      throw new Error(`Failed to download ${url.href}`);
    };
    const history: ModelMessage[] = [
      {
        role: "user",
        content: [
          { type: "text", text: "two files" },
          file("https://ok.example/a.pdf"),
          file("https://gone.example/b.pdf", "application/pdf", "b.pdf"),
          file("data:application/pdf;base64,JVBERg=="),
        ],
      },
      { role: "assistant", content: [{ type: "text", text: "seen" }] },
      { role: "user", content: [file("https://gone.example/b.pdf")] },
    ];
    const resolved = await resolveHistoryFiles(history, { supportedUrls: {}, chatId: "chat-1", download });

    expect(requested.sort()).toEqual(["https://gone.example/b.pdf", "https://ok.example/a.pdf"]);
    expect(resolved[0].content).toEqual([
      { type: "text", text: "two files" },
      { type: "file", mediaType: "application/pdf", data: { type: "data", data: bytes } },
      { type: "text", text: '[An attachment "b.pdf" (application/pdf) was here but could not be loaded.]' },
      file("data:application/pdf;base64,JVBERg=="),
    ]);
    expect(resolved[1]).toBe(history[1]);
    expect(resolved[2].content).toEqual([
      { type: "text", text: "[An attachment (application/pdf) was here but could not be loaded.]" },
    ]);
  });

  it("leaves URLs the model takes as they are", async () => {
    const download: DownloadOne = async () => {
      throw new Error("must not download");
    };
    const history: ModelMessage[] = [{ role: "user", content: [file("https://example.com/cat.png", "image/png")] }];
    const resolved = await resolveHistoryFiles(history, {
      supportedUrls: { "image/*": [/^https?:\/\/.*$/] },
      chatId: "chat-1",
      download,
    });
    expect(resolved).toBe(history);
  });

  it("with the SDK's own downloader, leaves out URLs it refuses (no network needed)", async () => {
    const history: ModelMessage[] = [
      {
        role: "user",
        content: [file("javascript:alert(1)", "image/png"), file("http://localhost/x.pdf"), file("ftp://h/x.pdf")],
      },
    ];
    const resolved = await resolveHistoryFiles(history, { supportedUrls: {}, chatId: "chat-1" });
    expect(resolved[0].content).toEqual([
      { type: "text", text: "[An attachment (image/png) was here but could not be loaded.]" },
      { type: "text", text: "[An attachment (application/pdf) was here but could not be loaded.]" },
      { type: "text", text: "[An attachment (application/pdf) was here but could not be loaded.]" },
    ]);
  });

  it("lets an aborted turn fail rather than leave its files out", async () => {
    const abort = new AbortController();
    const download: DownloadOne = async () => {
      abort.abort();
      throw new DOMException("aborted", "AbortError");
    };
    const history: ModelMessage[] = [{ role: "user", content: [file("https://example.com/a.pdf")] }];
    await expect(
      resolveHistoryFiles(history, { supportedUrls: {}, chatId: "chat-1", download, abortSignal: abort.signal }),
    ).rejects.toThrow("aborted");
  });
});
