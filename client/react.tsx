// Typed React hooks for the gateway, on @tanstack/react-query (queries,
// mutations, caching) and graphql-sse (the sendMessage stream). Result types
// come from the generated documents; nothing here declares a result type by hand.
import {
  QueryClient,
  QueryClientProvider,
  useMutation,
  useQuery,
  useQueryClient,
  type UseMutationOptions,
  type UseQueryOptions,
} from "@tanstack/react-query";
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { createGatewayClient, GatewayError, operationNameOf, type GatewayClient, type TypedDocumentNode } from "./core.ts";
import {
  ChatDocument,
  ChatsDocument,
  CreateGuestSessionDocument,
  MeDocument,
  SendMessageDocument,
  StopStreamDocument,
  type SendMessageInput,
} from "./generated/graphql.ts";
import { applyStreamEvent, failTurn, isDone, sendMessageInput, startTurn, type MessageContent, type TurnState } from "./stream.ts";

interface GatewayContextValue {
  client: GatewayClient;
  token: string | null;
  setToken(token: string | null): void;
}

const GatewayContext = createContext<GatewayContextValue | null>(null);

export interface GatewayProviderProps {
  /** The GraphQL endpoint; default "/graphql" (same origin). */
  url?: string;
  /** Only persisted document hashes are sent (a gateway with PERSISTED_OPERATIONS_ONLY=true). */
  persisted?: boolean;
  /** A token to start with (otherwise the stored one, if any). */
  initialToken?: string | null;
  /** localStorage key the token is kept under; null keeps it in memory only. */
  storageKey?: string | null;
  /** Your own react-query client, if the app has one. */
  queryClient?: QueryClient;
  children: ReactNode;
}

function storedToken(key: string | null): string | null {
  if (!key || typeof localStorage === "undefined") return null;
  return localStorage.getItem(key);
}

/** Provides the gateway client, the session token and react-query to the hooks below. */
export function GatewayProvider({
  url = "/graphql",
  persisted = false,
  initialToken,
  storageKey = "chat-gateway.token",
  queryClient,
  children,
}: GatewayProviderProps) {
  const [token, setTokenState] = useState<string | null>(() => initialToken ?? storedToken(storageKey));
  const tokenRef = useRef(token);
  tokenRef.current = token;
  // (Not disposed in an effect cleanup: StrictMode runs cleanups on mount too.
  // In distinct-connections mode every subscription closes on its own.)
  const client = useMemo(() => createGatewayClient({ url, persisted, token: () => tokenRef.current }), [url, persisted]);
  const [queries] = useState(
    () => queryClient ?? new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } } }),
  );
  const setToken = useCallback(
    (next: string | null) => {
      if (storageKey && typeof localStorage !== "undefined") {
        if (next) localStorage.setItem(storageKey, next);
        else localStorage.removeItem(storageKey);
      }
      tokenRef.current = next;
      // Another user: nothing cached for the previous one may show.
      queries.clear();
      setTokenState(next);
    },
    [storageKey, queries],
  );
  const value = useMemo(() => ({ client, token, setToken }), [client, token, setToken]);
  return (
    <QueryClientProvider client={queries}>
      <GatewayContext.Provider value={value}>{children}</GatewayContext.Provider>
    </QueryClientProvider>
  );
}

function useGateway(): GatewayContextValue {
  const value = useContext(GatewayContext);
  if (!value) throw new Error("Wrap the app in <GatewayProvider>.");
  return value;
}

export function useGatewayClient(): GatewayClient {
  return useGateway().client;
}

/** The react-query key of an operation: its name, then its variables. */
export function queryKeyOf<V>(document: TypedDocumentNode<unknown, V>, variables?: V): readonly unknown[] {
  return variables === undefined ? [operationNameOf(document)] : [operationNameOf(document), variables];
}

type QueryOptions<R, TData> = Omit<UseQueryOptions<R, GatewayError, TData>, "queryKey" | "queryFn">;

/** Any generated query document as a react-query query; runs only when signed in. */
export function useGatewayQuery<R, V, TData = R>(document: TypedDocumentNode<R, V>, variables: V, options?: QueryOptions<R, TData>) {
  const { client, token } = useGateway();
  return useQuery<R, GatewayError, TData>({
    queryKey: queryKeyOf(document, variables),
    queryFn: ({ signal }) => client.execute(document, variables, { signal }),
    ...options,
    enabled: token !== null && (options?.enabled ?? true),
  });
}

/** Any generated mutation document as a react-query mutation. */
export function useGatewayMutation<R, V, TContext = unknown>(
  document: TypedDocumentNode<R, V>,
  options?: Omit<UseMutationOptions<R, GatewayError, V, TContext>, "mutationFn">,
) {
  const client = useGatewayClient();
  return useMutation<R, GatewayError, V, TContext>({
    mutationFn: (variables) => client.execute(document, variables),
    ...options,
  });
}

/** The session: the token, the signed-in user (with messagesLeftToday) and guest sign-in. */
export function useSession() {
  const { token, setToken } = useGateway();
  const me = useMe();
  const guest = useGatewayMutation(CreateGuestSessionDocument, {
    onSuccess: (data) => setToken(data.createGuestSession.token),
  });
  return {
    token,
    user: me.data ?? null,
    isSignedIn: token !== null,
    /** The token was refused (expired, or signed with another secret): sign in again. */
    isExpired: me.error?.code.startsWith("unauthorized") ?? false,
    /** Resolves true once signed in; on failure, false (and `signInError` says why). */
    signInAsGuest: () => guest.mutateAsync({}).then(
      () => true,
      () => false,
    ),
    signingIn: guest.isPending,
    signInError: guest.error,
    setToken,
    signOut: () => setToken(null),
  };
}

/** The caller, with messagesLeftToday. */
export function useMe() {
  return useGatewayQuery(MeDocument, {}, { select: (data) => data.me });
}

/** The caller's chats, newest first. */
export function useChats({ first = 50 }: { first?: number } = {}) {
  return useGatewayQuery(ChatsDocument, { first }, {
    select: (data) => data.chats.edges.flatMap((edge) => (edge ? [edge.node] : [])),
  });
}

/** One chat with its stored messages (oldest first); `data` is null for a chat that does not exist yet. */
export function useChat(id: string | null | undefined, { first = 100 }: { first?: number } = {}) {
  return useGatewayQuery(ChatDocument, { id: id ?? "", first }, {
    enabled: Boolean(id),
    select: (data) =>
      data.chat && { ...data.chat, messages: data.chat.messages.edges.flatMap((edge) => (edge ? [edge.node] : [])) },
  });
}

export type SendMessageStatus = "idle" | TurnState["status"];

/**
 * Sends messages to one chat and streams the answer. `message` is the live
 * assistant message (text, reasoning and tool parts as they arrive, then as
 * stored); `stop()` calls stopStream. After each turn the chat, the chat list
 * and `me` (messages left today) are refetched.
 *
 *   const { send, stop, message, status, error } = useSendMessage(chatId);
 */
export function useSendMessage(chatId: string, options: { onFinish?: (turn: TurnState) => void } = {}) {
  const client = useGatewayClient();
  const queryClient = useQueryClient();
  const [turn, setTurn] = useState<TurnState | null>(null);
  const current = useRef<{ state: TurnState | null; unsubscribe: (() => void) | null }>({ state: null, unsubscribe: null });
  const onFinish = useRef(options.onFinish);
  onFinish.current = options.onFinish;

  // Leaving the chat closes the stream (which stops the turn until resumable streams land).
  useEffect(
    () => () => {
      current.current.unsubscribe?.();
      current.current = { state: null, unsubscribe: null };
    },
    [chatId],
  );

  const refresh = useCallback(() => {
    void queryClient.invalidateQueries({ queryKey: queryKeyOf(ChatDocument) });
    void queryClient.invalidateQueries({ queryKey: queryKeyOf(ChatsDocument) });
    void queryClient.invalidateQueries({ queryKey: queryKeyOf(MeDocument) });
  }, [queryClient]);

  const send = useCallback(
    (content: MessageContent, extra: Partial<Omit<SendMessageInput, "chatId" | "message">> = {}) => {
      if (current.current.state && !isDone(current.current.state)) throw new Error("A turn is already streaming in this chat.");
      const input = sendMessageInput(chatId, content, extra);
      const update = (next: TurnState) => {
        const previous = current.current.state;
        current.current.state = next;
        setTurn(next);
        // The user message is stored and counted once the stream starts.
        if (previous?.status === "submitted" && next.status === "streaming") {
          void queryClient.invalidateQueries({ queryKey: queryKeyOf(MeDocument) });
          void queryClient.invalidateQueries({ queryKey: queryKeyOf(ChatsDocument) });
        }
        if (!isDone(previous) && isDone(next)) {
          current.current.unsubscribe = null;
          refresh();
          onFinish.current?.(next);
        }
      };
      update(startTurn(input));
      current.current.unsubscribe = client.subscribe(SendMessageDocument, { input }, {
        next: (data) => current.current.state && update(applyStreamEvent(current.current.state, data.sendMessage)),
        error: (error) => current.current.state && update(failTurn(current.current.state, error)),
        complete: () => {
          const state = current.current.state;
          if (state && !isDone(state)) {
            update(failTurn(state, new GatewayError([{ message: "The stream ended early.", extensions: { code: "offline:chat" } }])));
          }
        },
      });
      return input;
    },
    [chatId, client, queryClient, refresh],
  );

  const stopMutation = useGatewayMutation(StopStreamDocument);
  /** Stops the generation (stopStream); the stream then ends with the partial answer stored. Never rejects. */
  const stop = useCallback(async () => {
    const state = current.current.state;
    if (!state || isDone(state)) return false;
    const stopStream = await stopMutation.mutateAsync({ chatId: state.chatId }).then(
      (data) => data.stopStream,
      () => false,
    );
    if (!stopStream && !isDone(current.current.state)) {
      // Nothing was running yet, or stopStream failed: closing the stream stops the turn too.
      current.current.unsubscribe?.();
      current.current.unsubscribe = null;
      const latest = current.current.state;
      if (latest && !isDone(latest)) {
        const stopped: TurnState = { ...latest, status: "stopped", message: latest.message && { ...latest.message, status: "ABORTED" } };
        current.current.state = stopped;
        setTurn(stopped);
        refresh();
      }
    }
    return stopStream;
  }, [stopMutation, refresh]);

  const reset = useCallback(() => {
    current.current.unsubscribe?.();
    current.current = { state: null, unsubscribe: null };
    setTurn(null);
  }, []);

  // A turn of another chat (the hook was handed a new chatId) is not shown.
  const visible = turn?.chatId === chatId ? turn : null;
  const status: SendMessageStatus = visible?.status ?? "idle";
  return {
    send,
    stop,
    reset,
    status,
    isStreaming: status === "submitted" || status === "streaming",
    /** The live assistant message (null before the stream starts). */
    message: visible?.message ?? null,
    /** The message the user sent in this turn. */
    userMessage: visible?.userMessage ?? null,
    error: visible?.error ?? null,
    usage: visible?.usage ?? null,
    turn: visible,
  };
}
