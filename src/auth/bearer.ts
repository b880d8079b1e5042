import { ChatSDKError } from "../errors.ts";

/**
 * The token of an `Authorization: Bearer <token>` header, or null when there is
 * no header; any other scheme or shape is refused with `unauthorized:chat`.
 */
export function bearerToken(header: string | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!match) throw new ChatSDKError("unauthorized:chat", "The Authorization header must be `Bearer <token>`.");
  return match[1];
}
