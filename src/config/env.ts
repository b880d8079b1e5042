import { z } from "zod";

// Every setting the gateway reads, parsed once. Defaults make `npm start` work
// on a fresh machine: embedded PGlite, the built-in streamer, a dev secret.
export const DEV_AUTH_SECRET = "dev-only-secret-change-me-dev-only-secret";

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);

const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", ""])
    .optional()
    .transform((v) => (v === undefined || v === "" ? fallback : v === "true" || v === "1"));

const envSchema = z.object({
  NODE_ENV: z.string().default("development"),
  PORT: int(4000),
  HOST: z.string().default("0.0.0.0"),
  DATABASE_URL: optionalString,
  DATA_DIR: z.string().default("./.data"),
  AUTH_SECRET: z.string().min(32, "AUTH_SECRET must be at least 32 characters").default(DEV_AUTH_SECRET),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_JWKS_URL: optionalString,
  GUEST_TOKEN_TTL_SECONDS: int(60 * 60 * 24 * 30),
  GUEST_SESSIONS_PER_HOUR: int(60),
  TRUST_PROXY: bool(false),
  QUOTA_GUEST_PER_DAY: int(20),
  QUOTA_REGULAR_PER_DAY: int(50),
  MAX_TEXT_LENGTH: int(2000),
  MAX_PARTS_PER_MESSAGE: int(32),
  MAX_MESSAGES_PER_CALL: int(100),
  MAX_PAGE_SIZE: int(100),
  MAX_REQUEST_BYTES: int(1_000_000),
  // Node times a request's headers against headersTimeout, kept above this
  // (src/http/coalesce-writes.ts) and at most requestTimeout (300 s).
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().nonnegative().max(290_000).default(65_000),
  STREAMER_URL: optionalString,
  NEXTJS_URL: optionalString,
  STREAMER_PORT: int(4001),
  NEXTJS_INTERNAL_TOKEN: z.string().min(32).default(`${DEV_AUTH_SECRET}-internal`),
  DEFAULT_CHAT_MODEL: z.string().default("chat-model"),
  STREAM_MODE: z.enum(["proxy", "direct"]).default("proxy"),
  UPSTREAM_CONNECT_TIMEOUT_MS: int(10_000),
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: int(30_000),
  UPSTREAM_IDLE_TIMEOUT_MS: int(60_000),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: optionalString,
  MOCK_DELTA_DELAY_MS: int(30),
  REDIS_URL: optionalString,
  // Durable turns (README, "Resuming turns and crashes").
  TURN_LOG_RETENTION_SECONDS: int(300),
  TURN_MAX_EVENTS: z.coerce.number().int().positive().default(20_000),
  TURN_MAX_BYTES: z.coerce.number().int().positive().default(1_000_000),
  TURN_CHECKPOINT_MS: z.coerce.number().int().nonnegative().max(3_000).default(2_000),
  // At most 20 s, so a crashed instance's turns end within 30 s (lease + a third).
  TURN_LEASE_SECONDS: z.coerce.number().positive().max(20).default(15),
  PERSISTED_OPERATIONS_ONLY: bool(false),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

export type Env = z.infer<typeof envSchema>;

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  const result = envSchema.safeParse(source);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    throw new Error(`Invalid configuration:\n${lines.join("\n")}`);
  }
  return result.data;
}

/** The streamer base URL, `NEXTJS_URL` accepted as the seed's alias. */
export function streamerUrlOf(env: Env): string | undefined {
  return env.STREAMER_URL ?? env.NEXTJS_URL;
}
