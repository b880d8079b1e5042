// The demo chat: guest sign-in, the chat list, one chat's stored history and a
// streaming answer, all through the typed hooks in client/react.tsx.
import { lazy, Suspense, useEffect, useRef, useState } from "react";
import type { GatewayError } from "../gateway-error.ts";
import { useChat, useChats, useSendMessage, useSession } from "../react.tsx";
import { newId, withLiveMessages } from "../stream.ts";
import { Composer } from "./Composer.tsx";
import { Message } from "./MessageView.tsx";
import { plainLoadError, plainRefusal } from "./refusal.ts";
import { useScrollToEnd } from "./scroll-to-end.ts";

// The useChat page brings the AI SDK's runtime: its own chunk, loaded when opened.
const AiSdkChat = lazy(() => import("./AiSdkChat.tsx").then((module) => ({ default: module.AiSdkChat })));

export function App() {
  const session = useSession();
  const hash = useHash();
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
  const aiSdkChat = /^#\/ai-sdk\/([0-9a-f-]{36})$/i.exec(hash)?.[1];
  if (!aiSdkChat) return <Chats />;
  return (
    <Suspense fallback={<p className="muted">Loading…</p>}>
      <AiSdkChat key={aiSdkChat} chatId={aiSdkChat} />
    </Suspense>
  );
}

/** Signs out and forgets the open chat: the next user starts on a chat of their own. */
function signOut(signOutOfSession: () => void): void {
  window.history.replaceState(null, "", window.location.pathname);
  signOutOfSession();
}

/** The URL hash, followed. */
function useHash(): string {
  const [hash, setHash] = useState(() => window.location.hash);
  useEffect(() => {
    const onHashChange = () => setHash(window.location.hash);
    window.addEventListener("hashchange", onHashChange);
    return () => window.removeEventListener("hashchange", onHashChange);
  }, []);
  return hash;
}

/** The open chat lives in the URL hash (#/chat/<id>), so a reload keeps it. */
function useChatIdFromHash(): [string, (id: string) => void] {
  const read = () => /^#\/chat\/([0-9a-f-]{36})$/i.exec(window.location.hash)?.[1] ?? null;
  const [chatId, setChatId] = useState<string>(() => read() ?? newId());
  // biome-ignore lint/correctness/useExhaustiveDependencies: `read` only reads the URL; the effect follows chatId.
  useEffect(() => {
    if (read() !== chatId) window.history.replaceState(null, "", `#/chat/${chatId}`);
    const onHashChange = () => {
      // The useChat page's route is App's to follow.
      if (!window.location.hash.startsWith("#/ai-sdk/")) setChatId(read() ?? newId());
    };
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
        <button type="button" className="link" onClick={() => signOut(session.signOut)}>
          Sign out
        </button>
      </header>
      <nav aria-label="Chats">
        <button type="button" data-testid="new-chat" onClick={() => openChat(newId())}>
          New chat
        </button>
        {chats.isPending && <p className="muted">Loading…</p>}
        {chats.error && (
          <p className="error">
            {plainLoadError(chats.error)}{" "}
            <button type="button" className="link" onClick={() => void chats.refetch()}>
              Try again
            </button>
          </p>
        )}
        <ul data-testid="chat-list">
          {chats.data?.map((chat) => (
            <li key={chat.id}>
              <a
                data-testid="chat-link"
                href={`#/chat/${chat.id}`}
                className={chat.id === chatId ? "active" : undefined}
                aria-current={chat.id === chatId ? "page" : undefined}
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
  const sent = useRef<string | null>(null);
  const foreign = (chat.error as GatewayError | null)?.code === "forbidden:chat";
  // Refused before the turn started (too long, quota, ...): nothing was stored or sent on.
  const refused = turn !== null && turn.status === "failed" && turn.seq < 0 && !turn.error?.network;

  // The stored history, the live answer in place of its stored snapshot; a refused message is not shown as sent.
  const messages = withLiveMessages(chat.data?.messages ?? [], refused ? { ...turn, userMessage: null } : turn);

  const bottom = useScrollToEnd(messages.length, message);

  // A refused message goes back into the composer, unless something new was typed meanwhile.
  useEffect(() => {
    if (!refused || sent.current === null) return;
    const restored = sent.current;
    sent.current = null;
    setText((current) => (current === "" ? restored : current));
  }, [refused]);

  const onSend = (content: string) => {
    sent.current = text;
    send(content);
    setText("");
  };

  return (
    <main className="chat" data-testid="chat" data-chat-id={chatId} data-status={status}>
      <div className="chat-title">
        <h1>{chat.data?.title ?? "New chat"}</h1>
        <a className="hint" href={`#/ai-sdk/${chatId}`} data-testid="open-ai-sdk">
          open with useChat
        </a>
      </div>
      <div className="messages" data-testid="messages" role="log" aria-label="Messages">
        {chat.isPending && <p className="muted">Loading…</p>}
        {chat.error && (
          <p className="error" role="alert" data-testid="chat-error">
            {plainLoadError(chat.error)}{" "}
            {/* Another user's chat (a link, or the last one open before a sign-out): nothing to send into. */}
            {foreign ? (
              <button type="button" className="link" onClick={() => (window.location.hash = `#/chat/${newId()}`)}>
                Start a new chat
              </button>
            ) : (
              <button type="button" className="link" onClick={() => void chat.refetch()}>
                Try again
              </button>
            )}
          </p>
        )}
        {!chat.isPending && messages.length === 0 && (
          <p className="muted">
            Say something. The offline mock model answers with reasoning, a tool call and text; add [slow] for a long
            answer to stop, [plain] for text alone, [error] for an answer that fails.
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
        <p className="error refusal" role="alert" data-testid="turn-error" data-code={error.code}>
          {plainRefusal(error, { refused })}
          {error.network && (
            <>
              {" "}
              <button type="button" className="link" data-testid="resume" onClick={resume}>
                Reconnect
              </button>
            </>
          )}
        </p>
      )}
      {!foreign && (
        <Composer text={text} onText={setText} onSend={onSend} isStreaming={isStreaming} onStop={() => void stop()} />
      )}
    </main>
  );
}
