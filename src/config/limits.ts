import { parseEnv } from "./env.ts";

// Size and count bounds the schema enforces at its edge. Read from the
// environment once, at start-up (see .env.example).
const env = parseEnv();

export const limits = {
  maxTextLength: env.MAX_TEXT_LENGTH,
  maxPartsPerMessage: env.MAX_PARTS_PER_MESSAGE,
  maxMessagesPerCall: env.MAX_MESSAGES_PER_CALL,
  maxPageSize: env.MAX_PAGE_SIZE,
  maxTitleLength: 255,
  /** Whole-message JSON (tool inputs and outputs included) in bytes. */
  maxPartsBytes: 200_000,
  maxUrlLength: 2048,
} as const;
