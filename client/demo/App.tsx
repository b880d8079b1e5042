// The demo chat: guest sign-in, the chat list, one chat's stored history and a
// streaming answer, all through the typed hooks in client/react.tsx.
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { useChat, useChats, useSendMessage, useSession } from "../react.tsx";
import { newId, withLiveMessages, type ChatMessage, type MessagePart } from "../stream.ts";

export function App() {
  const session = useSession();
  if (!session.isSignedIn || session.isExpired) {
    return (
      <main className="sign-in">
        <h1>Chat gateway demo</h1>
        <p>
          {session.isExpired
            ? "Your session is no longer valid. Sign in again."
            : "A streaming chat on the gateway's GraphQL API. Sign in as a guest to start."}
        </p>
        <button
          type="button"
          data-testid="sign-in"
          disabled={session.signingIn}
          onClick={() => void session.signInAsGuest()}
        >
          Continue as guest
        </button>
        {session.signInError && <p className="error">{session.signInError.message}</p>}
        <p className="hint">
          Or explore the API in <a href="/graphql">GraphiQL</a>.
        </p>
      </main>
    );
  }
  return <Chats />;
}

/** The open chat lives in the URL hash (#/chat/<id>), so a reload keeps it. */
function useChatIdFromHash(): [string, (id: string) => void] {
  const read = () => /^#\/chat\/([0-9a-f-]{36})$/i.exec(window.location.hash)?.[1] ?? null;
  const [chatId, setChatId] = useState<string>(() => read() ?? newId());
  // biome-ignore lint/correctness/useExhaustiveDependencies: `read` only reads the URL; the effect follows chatId.
  useEffect(() => {
    if (read() !== chatId) window.history.replaceState(null, "", `#/chat/${chatId}`);
    const onHashChange = () => setChatId(read() ?? newId());
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, [chatId]);
  return [chatId, (id) => (window.location.hash = `#/chat/${id}`)];
}

function Chats() {
  const session = useSession();
  const chats = useChats();
  const [chatId, openChat] = useChatIdFromHash();
  const user = session.user;
  return (
    <div className="layout">
      <header>
        <strong>Chat gateway demo</strong>
        <span className="spacer" />
        {user && (
          <>
            <span>{user.type === "GUEST" ? "Guest" : (user.email ?? "Signed in")}</span>
            <span data-testid="messages-left">
              {user.messagesLeftToday} {user.messagesLeftToday === 1 ? "message" : "messages"} left today
            </span>
          </>
        )}
        <a href="/graphql">GraphiQL</a>
        <button type="button" className="link" onClick={session.signOut}>
          Sign out
        </button>
      </header>
      <nav>
        <button type="button" data-testid="new-chat" onClick={() => openChat(newId())}>
          New chat
        </button>
        {chats.isPending && <p className="muted">Loading…</p>}
        {chats.error && <p className="error">{chats.error.message}</p>}
        <ul data-testid="chat-list">
          {chats.data?.map((chat) => (
            <li key={chat.id}>
              <a
                data-testid="chat-link"
                href={`#/chat/${chat.id}`}
                className={chat.id === chatId ? "active" : undefined}
              >
                {chat.title}
                <small>{new Date(chat.createdAt).toLocaleString()}</small>
              </a>
            </li>
          ))}
        </ul>
        {chats.data?.length === 0 && <p className="muted">No chats yet.</p>}
      </nav>
      <ChatView key={chatId} chatId={chatId} />
    </div>
  );
}

function ChatView({ chatId }: { chatId: string }) {
  const chat = useChat(chatId);
  // A reload mid-answer finds it STREAMING in the history: the hook resumes it.
  const { send, stop, resume, message, turn, status, error, isStreaming } = useSendMessage(chatId);
  const [text, setText] = useState("");
  const bottom = useRef<HTMLDivElement>(null);

  // The stored history, the live answer in place of its stored snapshot.
  const messages = withLiveMessages(chat.data?.messages ?? [], turn);

  // biome-ignore lint/correctness/useExhaustiveDependencies: it scrolls when the messages grow or the live answer changes.
  useEffect(() => {
    // (A block body: scrollIntoView returns a promise in recent browsers, and an
    // effect must return nothing or a cleanup function.)
    bottom.current?.scrollIntoView({ block: "end" });
  }, [messages.length, message]);

  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const content = text.trim();
    if (!content || isStreaming) return;
    send(content);
    setText("");
  };
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) submit(event);
  };

  return (
    <main className="chat" data-testid="chat" data-chat-id={chatId} data-status={status}>
      <h2>{chat.data?.title ?? "New chat"}</h2>
      <div className="messages" data-testid="messages">
        {chat.isPending && <p className="muted">Loading…</p>}
        {chat.error && <p className="error">{chat.error.message}</p>}
        {!chat.isPending && messages.length === 0 && (
          <p className="muted">
            Say something. The offline mock model answers with reasoning, a tool call and text; add [slow] for a long
            answer to stop.
          </p>
        )}
        {messages.map((m) => (
          <Message key={m.id} message={m} />
        ))}
        <div ref={bottom} />
      </div>
      {status === "resuming" && (
        <p className="muted" data-testid="resuming">
          Reconnecting to the answer…
        </p>
      )}
      {error && (
        <p className="error" data-testid="turn-error">
          {error.message} <code>{error.code}</code>
          {error.network && (
            <button type="button" className="link" data-testid="resume" onClick={resume}>
              Reconnect
            </button>
          )}
        </p>
      )}
      <form className="composer" onSubmit={submit}>
        <textarea
          data-testid="composer"
          value={text}
          placeholder="Message (Enter sends, Shift+Enter for a new line)"
          rows={2}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={onKeyDown}
        />
        {isStreaming ? (
          <button type="button" data-testid="stop" onClick={() => void stop()}>
            Stop
          </button>
        ) : (
          <button type="submit" data-testid="send" disabled={!text.trim()}>
            Send
          </button>
        )}
      </form>
    </main>
  );
}

const STATUS_LABEL: Record<ChatMessage["status"], string | null> = {
  COMPLETE: null,
  STREAMING: "streaming…",
  ABORTED: "stopped",
  FAILED: "failed",
};

function Message({ message }: { message: ChatMessage }) {
  const label = STATUS_LABEL[message.status];
  return (
    <article
      className={`message ${message.role.toLowerCase()}`}
      data-testid="message"
      data-role={message.role}
      data-status={message.status}
      data-message-id={message.id}
    >
      <header>
        {message.role === "USER" ? "You" : message.role === "ASSISTANT" ? "Assistant" : "System"}
        {label && <span className={`badge ${message.status.toLowerCase()}`}>{label}</span>}
      </header>
      {message.parts.map((part, i) => (
        // biome-ignore lint/suspicious/noArrayIndexKey: parts have no ids, and a message's parts only grow at the end.
        <Part key={i} part={part} />
      ))}
    </article>
  );
}

function json(value: unknown): string {
  if (typeof value === "string") return value;
  const compact = JSON.stringify(value);
  return compact.length <= 80 ? compact : JSON.stringify(value, null, 2);
}

function Part({ part }: { part: MessagePart }) {
  switch (part.__typename) {
    case "TextPart":
      return (
        <div className="part text" data-part="text">
          {part.text}
        </div>
      );
    case "ReasoningPart":
      return (
        <details className="part reasoning" data-part="reasoning" open>
          <summary>Reasoning</summary>
          <div>{part.text}</div>
        </details>
      );
    case "ToolPart":
      return (
        <div className="part tool" data-part="tool" data-state={part.state}>
          <div className="tool-head">
            Tool <code>{part.toolName}</code> <span className="muted">{part.state}</span>
          </div>
          {part.input != null && (
            <div data-part="tool-input">
              <span className="label">input</span>
              <pre>{json(part.input)}</pre>
            </div>
          )}
          {part.output != null && (
            <div data-part="tool-output">
              <span className="label">output</span>
              <pre>{json(part.output)}</pre>
            </div>
          )}
          {part.errorText && <p className="error">{part.errorText}</p>}
        </div>
      );
    case "SourceUrlPart":
      return (
        <div className="part source" data-part="source">
          Source:{" "}
          <a href={part.url} target="_blank" rel="noreferrer">
            {part.title ?? part.url}
          </a>
        </div>
      );
    case "SourceDocumentPart":
      return (
        <div className="part source" data-part="source">
          Source: {part.title ?? part.filename ?? part.sourceId}
        </div>
      );
    case "FilePart":
      return (
        <div className="part file" data-part="file">
          <a href={part.url} target="_blank" rel="noreferrer">
            {part.filename ?? part.mediaType}
          </a>
        </div>
      );
    case "DataPart":
      return (
        <pre className="part data" data-part="data">
          {part.name}: {json(part.data)}
        </pre>
      );
    case "StepStartPart":
      return null;
  }
}
