// The React side of the gateway client: the provider (client, session token,
// react-query) and the query and mutation hooks. Result types come from the
// generated documents; nothing here declares a result type by hand.
import {
  QueryClient,
  QueryClientProvider,
  useMutation,
  useQuery,
  type UseMutationOptions,
  type UseQueryOptions,
} from "@tanstack/react-query";
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import {
  createGatewayClient,
  operationNameOf,
  type GatewayClient,
  type GatewayError,
  type TypedDocumentNode,
} from "./core.ts";
import { ChatDocument, ChatsDocument, CreateGuestSessionDocument, MeDocument } from "./generated/graphql.ts";

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
  const client = useMemo(
    () => createGatewayClient({ url, persisted, token: () => tokenRef.current }),
    [url, persisted],
  );
  const [queries] = useState(
    () =>
      queryClient ??
      new QueryClient({ defaultOptions: { queries: { retry: 1, refetchOnWindowFocus: false, staleTime: 5_000 } } }),
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
export function useGatewayQuery<R, V, TData = R>(
  document: TypedDocumentNode<R, V>,
  variables: V,
  options?: QueryOptions<R, TData>,
) {
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
    signInAsGuest: () =>
      guest.mutateAsync({}).then(
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
  return useGatewayQuery(
    ChatsDocument,
    { first },
    {
      select: (data) => data.chats.edges.flatMap((edge) => (edge ? [edge.node] : [])),
    },
  );
}

/** One chat with its stored messages (oldest first); `data` is null for a chat that does not exist yet. */
export function useChat(id: string | null | undefined, { first = 100 }: { first?: number } = {}) {
  return useGatewayQuery(
    ChatDocument,
    { id: id ?? "", first },
    {
      enabled: Boolean(id),
      select: (data) =>
        data.chat && { ...data.chat, messages: data.chat.messages.edges.flatMap((edge) => (edge ? [edge.node] : [])) },
    },
  );
}
