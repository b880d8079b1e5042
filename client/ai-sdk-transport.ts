// The AI SDK's ChatTransport over the gateway, so useChat works unchanged:
//
//   useChat({ id: chatId, transport: new GatewayChatTransport({ url: "/graphql", headers }) })
//
// Ids that are not UUIDs (useChat's own) are mapped to UUIDs (client/ai-sdk-ids.ts).
// sendMessages sends the last user message through sendMessage (or, sent again
// with client-side tools' results, stores them with addToolOutput); the turn's
// events come back as UIMessageChunks (client/ai-sdk-chunks.ts) that fold into
// the message the gateway stores. reconnectToStream replays the chat's turn
// from StreamStarted through resumeStream. Only types come from `ai`: the
// transport adds nothing to a bundle that does not already have it.
import type { ChatTransport, UIMessage, UIMessageChunk } from "ai";
import { gatewayId } from "./ai-sdk-ids.ts";
import { turnStream } from "./ai-sdk-stream.ts";
import { createGatewayClient, GatewayError, type GatewayClient } from "./core.ts";
import {
  AddToolOutputDocument,
  DeleteTrailingMessagesDocument,
  StopStreamDocument,
  type SendMessageInput,
  type UserPartInput,
  type Visibility,
} from "./generated/graphql.ts";
import { resumeStream, sendMessage, type ReconnectOptions } from "./turn.ts";

type HeaderRecord = Record<string, string>;

/** Headers for every request: an object, or a function returning one (sync or async), e.g. the current token. */
export type HeadersSource = HeaderRecord | (() => HeaderRecord | Promise<HeaderRecord>);

export interface GatewayChatTransportOptions {
  /** The GraphQL endpoint, e.g. "/graphql" in a browser. */
  url: string;
  /** E.g. `() => ({ authorization: \`Bearer ${token}\` })`; resolved again for each request. */
  headers?: HeadersSource;
  /**
   * What aborting a request means. useChat aborts on stop() and when the
   * component unmounts. "stop" (default): the gateway stops the generation
   * (stopStream) and stores the partial answer as ABORTED. "disconnect": only
   * the connection closes; the turn goes on and reconnectToStream (useChat's
   * `resume`) picks it up; stop the turn with `transport.stopStream(chatId)`.
   * An abort while reconnectToStream is still connecting always only disconnects.
   */
  onAbort?: "stop" | "disconnect";
  /** How the follower resumes a dropped connection (client/turn.ts); false: a drop errors the stream. */
  reconnect?: ReconnectOptions | false;
  /** Send persisted document hashes only (PERSISTED_OPERATIONS_ONLY gateways). */
  persisted?: boolean;
  /** Another fetch (tests, React Native, a proxy). */
  fetch?: typeof fetch;
}

/**
 * sendMessage's optional fields, taken from useChat's request `body`: these
 * names, or the Chat SDK's own (`selectedChatModel`, `selectedVisibilityType`);
 * visibility in either spelling ("PUBLIC" or the Chat SDK's "public").
 */
export interface GatewayRequestBody {
  model?: string;
  visibility?: Visibility | "public" | "private";
  selectedChatModel?: string;
  selectedVisibilityType?: "public" | "private";
}

/** The model and visibility a request body names, in sendMessage's terms; an unknown visibility is refused. */
function optionsOf(body: GatewayRequestBody): Pick<SendMessageInput, "model" | "visibility"> {
  const model = body.model ?? body.selectedChatModel;
  const named = body.visibility ?? body.selectedVisibilityType;
  const visibility = typeof named === "string" ? named.toUpperCase() : named;
  if (visibility != null && visibility !== "PUBLIC" && visibility !== "PRIVATE") {
    throw badRequest(`visibility must be "public" or "private", not ${JSON.stringify(named)}.`);
  }
  return { ...(model ? { model } : {}), ...(visibility ? { visibility: visibility as Visibility } : {}) };
}

type SendOptions<M extends UIMessage> = Parameters<ChatTransport<M>["sendMessages"]>[0];
type ReconnectRequest<M extends UIMessage> = Parameters<ChatTransport<M>["reconnectToStream"]>[0];

export class GatewayChatTransport<M extends UIMessage = UIMessage> implements ChatTransport<M> {
  /** reconnectToStream replays the turn from its start: useChat folds it into an empty message. */
  readonly resumeStreamIsReplay = true;
  private readonly options: GatewayChatTransportOptions;

  constructor(options: GatewayChatTransportOptions) {
    this.options = options;
  }

  async sendMessages(request: SendOptions<M>): Promise<ReadableStream<UIMessageChunk>> {
    // Stopped before it was sent: nothing to send, nothing to stop.
    request.abortSignal?.throwIfAborted();
    const last = request.messages.at(-1);
    if (request.trigger === "submit-message" && last?.role === "assistant") {
      // useChat sends the chat again once the client's tools have answered (sendAutomaticallyWhen):
      // the answers are stored for the next turn's model; the gateway starts no turn without a user message.
      const client = await this.client(request.headers);
      try {
        await saveToolOutputs(client, gatewayId(request.chatId), last, request.abortSignal);
      } finally {
        client.dispose();
      }
      // An empty step ends the message's tool step, as a model's answer would, so useChat's
      // lastAssistantMessageIsCompleteWithToolCalls no longer holds and it does not send again.
      return new ReadableStream<UIMessageChunk>({
        start(controller) {
          controller.enqueue({ type: "start-step" });
          controller.enqueue({ type: "finish-step" });
          // With metadata (none new), so the chat writes the message it folded.
          controller.enqueue({ type: "finish", messageMetadata: {} });
          controller.close();
        },
      });
    }
    const user = request.messages.findLast((message) => message.role === "user");
    if (!user) throw badRequest("There is no user message to send.");
    const input: SendMessageInput = {
      chatId: gatewayId(request.chatId),
      message: { id: gatewayId(user.id), parts: userParts(user) },
      ...optionsOf((request.body ?? {}) as GatewayRequestBody),
    };
    const client = await this.client(request.headers);
    // Regenerating, or editing a sent message, replaces it and what follows, as the Chat SDK does.
    if (request.trigger === "regenerate-message" || request.messageId !== undefined) {
      await deleteFrom(client, input.message.id, request.abortSignal).catch((error: unknown) => {
        client.dispose();
        throw error;
      });
    }
    const { stream } = turnStream(
      (follow) => sendMessage(client, input, { ...follow, reconnect: this.options.reconnect }),
      { signal: request.abortSignal, abortMeans: () => this.abortMeans(), onDone: () => client.dispose() },
    );
    return stream;
  }

  /**
   * The chat's latest turn from its start (a running one, or one that ended
   * within the gateway's retention), or null when there is none, or no such chat.
   */
  async reconnectToStream(request: ReconnectRequest<M>): Promise<ReadableStream<UIMessageChunk> | null> {
    const client = await this.client(request.headers);
    let opened = false;
    const { stream, started } = turnStream(
      (follow) => resumeStream(client, gatewayId(request.chatId), { ...follow, reconnect: this.options.reconnect }),
      {
        signal: request.abortSignal,
        abortMeans: () => (opened ? this.abortMeans() : "disconnect"),
        onDone: () => client.dispose(),
      },
    );
    try {
      if (!(await started)) return null;
    } catch (error) {
      // A chat not created yet (useChat's resume on a new chat's page) has nothing to resume.
      if (error instanceof GatewayError && error.code === "not_found:chat") return null;
      throw error;
    }
    opened = true;
    return stream;
  }

  /** Asks the gateway to stop the chat's running turn; true when one was stopped. */
  async stopStream(chatId: string): Promise<boolean> {
    const client = await this.client();
    try {
      return (await client.request(StopStreamDocument, { chatId: gatewayId(chatId) })).stopStream;
    } finally {
      client.dispose();
    }
  }

  private abortMeans(): "stop" | "disconnect" {
    return this.options.onAbort ?? "stop";
  }

  private async client(extra?: HeaderRecord | Headers): Promise<GatewayClient> {
    const { headers, url, persisted, fetch } = this.options;
    const base = typeof headers === "function" ? await headers() : headers;
    return createGatewayClient({
      url,
      persisted,
      fetch,
      headers: { ...base, ...(extra instanceof Headers ? Object.fromEntries(extra.entries()) : extra) },
    });
  }
}

/** Deletes the message and what follows; a message never stored (a refused send) has nothing to delete. */
async function deleteFrom(client: GatewayClient, messageId: string, signal: AbortSignal | undefined) {
  try {
    await client.request(DeleteTrailingMessagesDocument, { messageId }, { signal });
  } catch (error) {
    if (!(error instanceof GatewayError && error.code === "not_found:chat")) throw error;
  }
}

type ToolOutcome = {
  toolCallId: string;
  state: string;
  output?: unknown;
  errorText?: string;
  providerExecuted?: boolean;
};

/** Stores the results the client's tools gave (useChat's addToolOutput); one stored already is left as it is. */
async function saveToolOutputs(client: GatewayClient, chatId: string, message: UIMessage, signal?: AbortSignal) {
  const answered = message.parts.filter((part) => {
    if (!part.type.startsWith("tool-") && part.type !== "dynamic-tool") return false;
    const { state, providerExecuted } = part as unknown as ToolOutcome;
    return (state === "output-available" || state === "output-error") && providerExecuted !== true;
  }) as unknown as ToolOutcome[];
  for (const part of answered) {
    const answer =
      part.state === "output-error" ? { errorText: part.errorText ?? "The tool failed." } : { output: part.output };
    try {
      await client.request(
        AddToolOutputDocument,
        { input: { chatId, messageId: gatewayId(message.id), toolCallId: part.toolCallId, ...answer } },
        { signal },
      );
    } catch (error) {
      // Answered already (an earlier request of useChat's stored it): nothing to do.
      if (!(error instanceof GatewayError && error.errors[0]?.extensions?.["reason"] === "tool_call_not_waiting")) {
        throw error;
      }
    }
  }
}

/** The parts sendMessage takes: texts and files; other parts are the client's own. */
function userParts(message: UIMessage): UserPartInput[] {
  const parts = message.parts.flatMap((part): UserPartInput[] => {
    if (part.type === "text") return [{ text: part.text }];
    if (part.type === "file") {
      return [{ file: { url: part.url, mediaType: part.mediaType, filename: part.filename ?? null } }];
    }
    return [];
  });
  if (parts.length === 0) throw badRequest("The message has no text or file part to send.");
  return parts;
}

function badRequest(message: string): GatewayError {
  return new GatewayError([{ message, extensions: { code: "bad_request:api" } }]);
}
