// useSendMessage: one chat's turn in React. It sends a message and folds the
// stream into the live assistant message, resumes a STREAMING answer the chat
// has when it loads (a reload, another tab), and follows the turn across a
// dropped connection (client/turn.ts), so leaving or losing the page never
// stops an answer: only stop() does.
import { useQueryClient } from "@tanstack/react-query";
import { useCallback, useEffect, useRef, useState } from "react";
import {
  ChatDocument,
  ChatsDocument,
  DeleteTrailingMessagesDocument,
  MeDocument,
  type SendMessageInput,
} from "./generated/graphql.ts";
import { queryKeyOf, useChat, useGatewayClient } from "./react-queries.tsx";
import { isDone, sendMessageInput, type ChatMessage, type MessageContent, type TurnState } from "./stream.ts";
import {
  resumeStream,
  resumeTurn,
  sendMessage,
  type FollowOptions,
  type ReconnectOptions,
  type RunningTurn,
} from "./turn.ts";

export type SendMessageStatus = "idle" | TurnState["status"];

export interface UseSendMessageOptions {
  onFinish?: (turn: TurnState) => void;
  /** Resume the answer a loaded chat is still streaming (after a reload). Default true. */
  resume?: boolean;
  /** The page size of the chat query read for that (useChat's, so both share one query). Default 100. */
  first?: number;
  /** How a dropped connection is resumed (client/turn.ts); false: it fails the turn. */
  reconnect?: ReconnectOptions | false;
}

interface Following {
  running: RunningTurn | null;
  state: TurnState | null;
  /** Assistant messages this hook has followed: a chat refetched with one still STREAMING is not resumed twice. */
  seen: Set<string>;
}

const idle = (): Following => ({ running: null, state: null, seen: new Set() });

/** The chat's answer still being generated, if its last assistant message is. */
function streamingAnswer(messages: readonly ChatMessage[] | undefined): ChatMessage | null {
  const last = messages?.findLast((m) => m.role === "ASSISTANT");
  return last?.status === "STREAMING" ? last : null;
}

/**
 * Sends messages to one chat and streams the answer. `message` is the live
 * assistant message (text, reasoning and tool parts as they arrive, then as
 * stored); `stop()` calls stopStream; `resume()` follows the chat's running
 * turn again (done by itself after a reload or a dropped connection). After
 * each turn the chat, the chat list and `me` (messages left today) are refetched.
 *
 *   const { send, stop, message, status, error } = useSendMessage(chatId);
 */
export function useSendMessage(chatId: string, options: UseSendMessageOptions = {}) {
  const client = useGatewayClient();
  const queryClient = useQueryClient();
  const chat = useChat(chatId, { first: options.first });
  const [turn, setTurn] = useState<TurnState | null>(null);
  const current = useRef<Following>(idle());
  const latest = useRef(options);
  latest.current = options;

  // Leaving the chat stops following it; the turn goes on at the gateway.
  // biome-ignore lint/correctness/useExhaustiveDependencies: a cleanup on unmount only; `current` is a ref.
  useEffect(
    () => () => {
      current.current.running?.close();
      current.current = idle();
    },
    [chatId],
  );

  const refresh = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: queryKeyOf(ChatDocument) });
    void queryClient.invalidateQueries({ queryKey: queryKeyOf(ChatsDocument) });
    void queryClient.invalidateQueries({ queryKey: queryKeyOf(MeDocument) });
  }, [queryClient]);

  const follow = useCallback(
    (start: (options: FollowOptions) => RunningTurn) => {
      const following = current.current;
      following.running?.close();
      const onUpdate = (next: TurnState) => {
        if (current.current !== following || next === following.state) return;
        const previous = following.state;
        following.state = next;
        if (next.message) following.seen.add(next.message.id);
        setTurn(next);
        // The user message is stored and counted once the stream starts.
        if (previous?.status === "submitted" && next.status === "streaming") {
          void queryClient.invalidateQueries({ queryKey: queryKeyOf(MeDocument) });
          void queryClient.invalidateQueries({ queryKey: queryKeyOf(ChatsDocument) });
        }
        if (!isDone(previous) && isDone(next)) {
          refresh();
          latest.current.onFinish?.(next);
        }
      };
      following.state = null;
      const running = start({ onUpdate, reconnect: latest.current.reconnect });
      following.running = running;
      onUpdate(running.state);
    },
    [queryClient, refresh],
  );

  const send = useCallback(
    (content: MessageContent, extra: Partial<Omit<SendMessageInput, "chatId" | "message">> = {}) => {
      if (current.current.state && !isDone(current.current.state))
        throw new Error("A turn is already streaming in this chat.");
      const input = sendMessageInput(chatId, content, extra);
      follow((followOptions) => sendMessage(client, input, followOptions));
      return input;
    },
    [chatId, client, follow],
  );

  const streaming = options.resume === false ? null : streamingAnswer(chat.data?.messages);
  /**
   * Follows the chat's running turn: the held one when its connection was lost (from its last
   * seq; lost before StreamStarted, it is kept only if the turn found is its message's, and its
   * message, sent or not, stays with it), else the chat's from the start.
   */
  const resume = useCallback(() => {
    const held = current.current.state;
    if (held && !isDone(held)) return;
    if (held?.error?.network) {
      follow((followOptions) => resumeTurn(client, held, followOptions));
    } else {
      follow((followOptions) => resumeStream(client, chatId, { ...followOptions, message: streaming }));
    }
  }, [chatId, client, follow, streaming]);

  // A chat loaded with its answer still STREAMING (a reload, another tab): follow it.
  useEffect(() => {
    if (!streaming || current.current.seen.has(streaming.id)) return;
    if (current.current.state && !isDone(current.current.state)) return;
    current.current.seen.add(streaming.id);
    follow((followOptions) => resumeStream(client, chatId, { ...followOptions, message: streaming }));
  }, [streaming, chatId, client, follow]);

  // Back online after the reconnects ran out: follow the answer again.
  useEffect(() => {
    if (typeof window === "undefined") return;
    const onOnline = () => current.current.state?.error?.network && resume();
    window.addEventListener("online", onOnline);
    return () => window.removeEventListener("online", onOnline);
  }, [resume]);

  /** Stops the generation (stopStream); the stream then ends with the partial answer stored. Never rejects. */
  const stop = useCallback(async () => {
    const running = current.current.running;
    if (!running || isDone(running.state)) return false;
    return running.stop();
  }, []);

  /** Forgets the turn shown (call it after deleting its messages yourself, or withLiveMessages shows them still). */
  const reset = useCallback(() => {
    current.current.running?.close();
    current.current = { ...idle(), seen: current.current.seen };
    setTurn(null);
  }, []);

  /**
   * Edits a sent message as the Chat SDK does: it and every later message are
   * deleted (deleteTrailingMessages, which stops a running turn first), then
   * `content` is sent in its place. Rejects with the deletion's GatewayError.
   */
  const edit = useCallback(
    async (
      messageId: string,
      content: MessageContent,
      extra: Partial<Omit<SendMessageInput, "chatId" | "message">> = {},
    ) => {
      reset();
      await client.request(DeleteTrailingMessagesDocument, { messageId });
      refresh();
      return send(content, extra);
    },
    [client, refresh, reset, send],
  );

  // A turn of another chat (the hook was handed a new chatId) is not shown.
  const visible = turn?.chatId === chatId ? turn : null;
  const status: SendMessageStatus = visible?.status ?? "idle";
  return {
    send,
    edit,
    stop,
    resume,
    reset,
    status,
    isStreaming: status === "submitted" || status === "resuming" || status === "streaming",
    /** The live assistant message (null before the stream starts). */
    message: visible?.message ?? null,
    /** The message the user sent in this turn (null for a resumed turn). */
    userMessage: visible?.userMessage ?? null,
    error: visible?.error ?? null,
    usage: visible?.usage ?? null,
    turn: visible,
  };
}
