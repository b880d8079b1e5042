import { GraphQLError } from "graphql";

// Error codes in the Chat SDK's `type:surface` form, so Chat SDK clients map them unchanged.
export const ERROR_CODES = [
  "bad_request:api",
  "unauthorized:chat",
  "forbidden:chat",
  "not_found:chat",
  "rate_limit:chat",
  "offline:chat",
  "bad_request:database",
] as const;
export type ErrorCode = (typeof ERROR_CODES)[number];

const DEFAULT_MESSAGES: Record<ErrorCode, string> = {
  "bad_request:api": "The request couldn't be processed. Please check your input and try again.",
  "unauthorized:chat": "You need to sign in to use this.",
  "forbidden:chat": "This chat belongs to another user.",
  "not_found:chat": "The requested chat was not found.",
  "rate_limit:chat": "You have exceeded your maximum number of messages for the day.",
  "offline:chat": "We're having trouble reaching the model. Please try again.",
  "bad_request:database": "An error occurred while executing a database query.",
};

/** An error the client is meant to see: a GraphQL error with `extensions.code`. */
export class ChatSDKError extends GraphQLError {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? DEFAULT_MESSAGES[code], { extensions: { code, ...details } });
    this.code = code;
  }
}

export function isChatSDKError(error: unknown): error is ChatSDKError {
  return error instanceof ChatSDKError;
}

/** The `code` a library put on an error (Node's, undici's, PostgreSQL's SQLSTATE), if any. */
export function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * A client-chosen id that cannot be stored because the gateway already holds
 * one like it. The same answer whoever holds it, so it tells nothing about
 * other users' chats, and it names only the id the caller sent.
 */
export function idNotAvailable(kind: "Chat" | "Message", id: string): ChatSDKError {
  return new ChatSDKError("bad_request:api", `${kind} id ${id} cannot be used; send a new UUID.`);
}
