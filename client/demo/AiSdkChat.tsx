// The same chat through the AI SDK's own hook: @ai-sdk/react's useChat with
// GatewayChatTransport (#/ai-sdk/<chatId>). The stored history is useChat's
// initial messages; `resume` replays a turn still running after a reload;
// Stop is useChat's stop(), which the transport sends as stopStream.
import { useChat as useAiChat } from "@ai-sdk/react";
import type { UIMessage } from "ai";
import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useMemo, useRef, useState } from "react";
import { toUIMessages } from "../ai-sdk-messages.ts";
import { GatewayChatTransport } from "../ai-sdk-transport.ts";
import type { GatewayError } from "../core.ts";
import { ChatDocument, ChatsDocument, MeDocument } from "../generated/graphql.ts";
import { queryKeyOf, useChat, useGatewayClient, useSession } from "../react.tsx";
import { newId } from "../stream.ts";
import { Composer } from "./Composer.tsx";
import { TOOL_STATES } from "./MessageView.tsx";
import { plainRefusal } from "./refusal.ts";
import { useScrollToEnd } from "./scroll-to-end.ts";

export function AiSdkChat({ chatId }: { chatId: string }) {
  const stored = useChat(chatId);
  // Opened from the demo mid-answer, its cached history may predate the question just sent:
  // useChat starts from a copy fetched now (or the cached one, should the fetch fail or wait
  // for the browser to be online).
  // biome-ignore lint/correctness/useExhaustiveDependencies: once, when the page opens.
  useEffect(() => {
    void stored.refetch();
  }, []);
  const fresh = stored.isFetchedAfterMount || stored.fetchStatus === "paused";
  return (
    <main className="chat ai-sdk" data-testid="ai-sdk-chat" data-chat-id={chatId}>
      <h1>
        {stored.data?.title ?? "New chat"} <span className="hint">with the AI SDK's useChat</span>{" "}
        <a className="hint" href={`#/chat/${chatId}`}>
          back to the demo
        </a>
      </h1>
      {stored.isPending || !fresh ? (
        <p className="muted">Loading…</p>
      ) : (
        // useChat reads its initial messages once: it starts when the history is loaded.
        <LoadedChat chatId={chatId} initial={toUIMessages(stored.data?.messages ?? [])} />
      )}
    </main>
  );
}

function LoadedChat({ chatId, initial }: { chatId: string; initial: UIMessage[] }) {
  const client = useGatewayClient();
  const { token } = useSession();
  const tokenRef = useRef(token);
  tokenRef.current = token;
  const transport = useMemo(
    () =>
      new GatewayChatTransport({
        url: client.url,
        persisted: client.persisted,
        headers: (): Record<string, string> =>
          tokenRef.current ? { authorization: `Bearer ${tokenRef.current}` } : {},
      }),
    [client],
  );
  const queryClient = useQueryClient();
  const [text, setText] = useState("");
  // The error of a message the gateway turned away before its answer began (nothing was stored).
  const [refusal, setRefusal] = useState<unknown>(null);
  const chat = useAiChat({
    id: chatId,
    messages: initial,
    transport,
    // The gateway takes UUIDs only.
    generateId: newId,
    resume: true,
    // The typed pages' cached chat, chat list and quota change with each turn.
    onFinish: () => {
      for (const queryKey of [queryKeyOf(ChatDocument), queryKeyOf(ChatsDocument), queryKeyOf(MeDocument)]) {
        void queryClient.invalidateQueries({ queryKey });
      }
    },
    onError: (failure) => {
      // Refused before any answer (not a lost connection): the message was not stored; it goes back into the composer.
      if ((failure as GatewayError).network) return;
      chat.setMessages((messages) => {
        const last = messages.at(-1);
        if (last?.role !== "user") return messages;
        const restored = last.parts.flatMap((part) => (part.type === "text" ? [part.text] : [])).join("\n");
        setText((current) => (current === "" ? restored : current));
        setRefusal(failure);
        return messages.slice(0, -1);
      });
    },
  });
  const error = chat.error as GatewayError | undefined;
  const isStreaming = chat.status === "submitted" || chat.status === "streaming";
  const bottom = useScrollToEnd(chat.messages.length, chat.messages.at(-1));

  return (
    <>
      <div className="messages" data-testid="messages" data-status={chat.status} role="log" aria-label="Messages">
        {chat.messages.length === 0 && <p className="muted">Say something; the answer streams through useChat.</p>}
        {chat.messages.map((message) => (
          <UIMessageView key={message.id} message={message} />
        ))}
        <div ref={bottom} />
      </div>
      {error && (
        <p className="error refusal" role="alert" data-testid="turn-error" data-code={error.code}>
          {plainRefusal(
            { code: error.code ?? "", message: error.message, reason: error.reason, network: error.network },
            { refused: error === refusal },
          )}
        </p>
      )}
      <Composer
        text={text}
        onText={setText}
        isStreaming={isStreaming}
        onStop={() => void chat.stop()}
        onSend={(content) => {
          setText("");
          void chat.sendMessage({ text: content });
        }}
      />
    </>
  );
}

function UIMessageView({ message }: { message: UIMessage }) {
  return (
    <article
      className={`message ${message.role}`}
      data-testid="message"
      data-role={message.role.toUpperCase()}
      data-message-id={message.id}
    >
      <header>{message.role === "user" ? "You" : "Assistant"}</header>
      {message.parts.map((part, i) => {
        const key = `${message.id}:${i}`;
        if (part.type === "text") {
          return (
            <div key={key} className="part text" data-part="text">
              {part.text}
            </div>
          );
        }
        if (part.type === "reasoning") {
          return (
            <details key={key} className="part reasoning" data-part="reasoning" open>
              <summary>Reasoning</summary>
              <div>{part.text}</div>
            </details>
          );
        }
        if (part.type === "dynamic-tool" || part.type.startsWith("tool-")) {
          const tool = part as { type: string; toolName?: string; state: string; output?: unknown };
          return (
            <div key={key} className="part tool" data-part="tool" data-state={tool.state}>
              Tool <code>{tool.toolName ?? tool.type.slice("tool-".length)}</code>{" "}
              <span className="muted">{TOOL_STATES[tool.state] ?? tool.state}</span>
              {tool.output !== undefined && <pre data-part="tool-output">{JSON.stringify(tool.output)}</pre>}
            </div>
          );
        }
        if (part.type === "source-url") {
          return (
            <div key={key} className="part source" data-part="source">
              Source: <a href={part.url}>{part.title ?? part.url}</a>
            </div>
          );
        }
        return null;
      })}
    </article>
  );
}
