import { createUIMessageStreamResponse, type UIMessage } from "ai";
import { z } from "zod";
import { bearerToken } from "../auth/bearer.ts";
import { verifyInternalToken } from "../auth/internal-token.ts";
import type { Env } from "../config/env.ts";
import { streamChatTurn, validateTurnMessages, type ChatTurnInput } from "./turn.ts";

export type ChatStreamEnv = ChatTurnInput["env"] & Pick<Env, "NEXTJS_INTERNAL_TOKEN">;

// The shape only; validateUIMessages checks the parts afterwards.
const uiMessage = z.looseObject({
  id: z.string().min(1),
  role: z.enum(["system", "user", "assistant"]),
  parts: z.array(z.looseObject({ type: z.string() })),
  metadata: z.unknown().optional(),
});

const chatStreamBody = z.object({
  id: z.string().min(1),
  message: uiMessage.extend({ role: z.literal("user") }),
  selectedChatModel: z.string().min(1),
  selectedVisibilityType: z.enum(["private", "public"]),
  existingMessages: z.array(uiMessage),
});

export type ChatStreamBody = z.infer<typeof chatStreamBody>;

/** `POST /api/chat/stream`, answering as the Chat SDK's Next.js route would. */
export function handleChatStream(env: ChatStreamEnv): (request: Request) => Promise<Response> {
  return async (request) => {
    const token = bearerOrNull(request.headers.get("authorization"));
    if (token === null) return errorResponse(401, "unauthorized:chat", "Missing bearer token.");
    let claims: Awaited<ReturnType<typeof verifyInternalToken>>;
    try {
      claims = await verifyInternalToken(env.NEXTJS_INTERNAL_TOKEN, token);
    } catch {
      return errorResponse(401, "unauthorized:chat", "Invalid internal token.");
    }

    let json: unknown;
    try {
      json = await request.json();
    } catch {
      return errorResponse(400, "bad_request:api", "The body is not JSON.");
    }
    const parsed = chatStreamBody.safeParse(json);
    if (!parsed.success) {
      const cause = parsed.error.issues.map((i) => ({ path: i.path.join("."), message: i.message }));
      return errorResponse(400, "bad_request:api", "The request body is invalid.", cause);
    }
    const body = parsed.data;
    if (body.id !== claims.chatId) {
      return errorResponse(403, "forbidden:chat", "The token was issued for another chat.");
    }

    const message = body.message as UIMessage;
    const existingMessages = body.existingMessages as UIMessage[];
    try {
      await validateTurnMessages(existingMessages, message);
    } catch (error) {
      return errorResponse(400, "bad_request:api", "The messages are invalid.", String(error));
    }

    return createUIMessageStreamResponse({
      stream: streamChatTurn({
        env,
        chatId: body.id,
        message,
        existingMessages,
        selectedChatModel: body.selectedChatModel,
        signal: request.signal,
      }),
    });
  };
}

function errorResponse(status: number, code: string, message: string, cause?: unknown): Response {
  return Response.json({ code, message, cause }, { status });
}

function bearerOrNull(header: string | null): string | null {
  try {
    return bearerToken(header);
  } catch {
    return null;
  }
}
