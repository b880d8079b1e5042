import { z } from "zod";

// Every setting the gateway reads, parsed once. Defaults make `npm start` work
// on a fresh machine: embedded PGlite, the built-in streamer, a dev secret.
export const DEV_AUTH_SECRET = "dev-only-secret-change-me-dev-only-secret";
export const DEV_INTERNAL_TOKEN = `${DEV_AUTH_SECRET}-internal`;

/** Whether a secret is one of the committed development values (or unset), a secret file's trailing newline aside. */
export function isDevelopmentSecret(value: string): boolean {
  const trimmed = value.trim();
  return trimmed === DEV_AUTH_SECRET || trimmed === DEV_INTERNAL_TOKEN;
}

const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === "" ? undefined : v.trim()));

const int = (fallback: number) => z.coerce.number().int().nonnegative().default(fallback);
// A size bound: zero would refuse every request it bounds.
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

/** An optional URL of one of `schemes` (e.g. "http:"); `example` shows the form in the error. */
const urlOf = (schemes: string[], example: string) =>
  optionalString.refine((value) => value === undefined || schemes.includes(URL.parse(value)?.protocol ?? ""), {
    message: `must be a URL such as ${example}`,
  });

// Node holds a timer for at most 2^31 - 1 ms (about 24.8 days) and fires a
// longer one at once: a bound past it would end every wait as it began.
const MAX_TIMER_MS = 2_147_483_647;
const TIMER_MESSAGE = `must be at most ${MAX_TIMER_MS} ms (about 24 days)`;

// A bound: zero would switch the wait's limit off (or fire it at once).
const positiveMs = (fallback: number) =>
  z.coerce.number().int().positive().max(MAX_TIMER_MS, TIMER_MESSAGE).default(fallback);

const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);
const TIMER_SECONDS_MESSAGE = `must be at most ${MAX_TIMER_SECONDS} (about 24 days)`;

const bool = (fallback: boolean) =>
  z
    .enum(["true", "false", "1", "0", ""])
    .optional()
    .transform((v) => (v === undefined || v === "" ? fallback : v === "true" || v === "1"));

const optionalBool = z
  .enum(["true", "false", "1", "0", ""])
  .optional()
  .transform((v) => (v === undefined || v === "" ? undefined : v === "true" || v === "1"));

/** `*`, or an origin as browsers send it (`https://app.example.com`), from what an operator wrote. */
function originOf(entry: string): string | null {
  if (entry === "*") return entry;
  try {
    const url = new URL(entry);
    const bare = url.pathname === "/" && !url.search && !url.hash && !url.username && !url.password;
    return bare && (url.protocol === "http:" || url.protocol === "https:") ? url.origin : null;
  } catch {
    return null;
  }
}

const envSchema = z.object({
  NODE_ENV: z.string().default("development"),
  PORT: int(4000).pipe(z.number().max(65_535)),
  HOST: z.string().default("0.0.0.0"),
  DATABASE_URL: urlOf(["postgres:", "postgresql:"], "postgresql://user:password@host:5432/database"),
  DATA_DIR: z.string().default("./.data"),
  // Bounds on every database wait, so a database that stops answering gives
  // refusals instead of hangs (README: "When the database is slow or down").
  DB_CONNECT_TIMEOUT_MS: positiveMs(3_000),
  DB_POOL_ACQUIRE_TIMEOUT_MS: positiveMs(3_000),
  DB_STATEMENT_TIMEOUT_MS: positiveMs(5_000),
  DB_QUERY_TIMEOUT_MS: positiveMs(6_000),
  DB_MIGRATION_TIMEOUT_MS: positiveMs(600_000),
  // Per gateway process, each worker its own pool; unset: see poolSizeOf.
  DB_POOL_SIZE: z.coerce.number().int().positive().max(1_000).optional(),
  AUTH_SECRET: z.string().min(32, "AUTH_SECRET must be at least 32 characters").default(DEV_AUTH_SECRET),
  AUTH_ISSUER: optionalString,
  AUTH_AUDIENCE: optionalString,
  AUTH_JWKS_URL: urlOf(["https:", "http:"], "https://auth.example.com/.well-known/jwks.json"),
  // Zero would make every guest token expired on its first use.
  GUEST_TOKEN_TTL_SECONDS: positiveInt(60 * 60 * 24 * 30),
  // The longest a user token may live, from its iat (or from now without one).
  MAX_TOKEN_LIFETIME_SECONDS: int(60 * 60 * 24 * 30),
  GUEST_SESSIONS_PER_HOUR: int(60),
  // Proxy hops in front of the gateway, each appending to X-Forwarded-For.
  TRUST_PROXY: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const value = (v ?? "").trim().toLowerCase();
      if (value === "" || value === "false") return 0;
      if (value === "true") return 1;
      if (/^\d+$/.test(value)) return Number(value);
      ctx.addIssue({ code: "custom", message: "must be true, false or a number of proxy hops" });
      return z.NEVER;
    }),
  QUOTA_GUEST_PER_DAY: int(20),
  QUOTA_REGULAR_PER_DAY: int(50),
  MAX_TEXT_LENGTH: positiveInt(2000),
  MAX_PARTS_PER_MESSAGE: positiveInt(32),
  MAX_MESSAGES_PER_CALL: positiveInt(100),
  MAX_PAGE_SIZE: positiveInt(100),
  MAX_REQUEST_BYTES: positiveInt(1_000_000),
  // Node times a request's headers against headersTimeout, kept above this
  // (src/http/coalesce-writes.ts) and at most requestTimeout (300 s).
  KEEP_ALIVE_TIMEOUT_MS: z.coerce.number().int().nonnegative().max(290_000).default(65_000),
  STREAMER_URL: urlOf(["http:", "https:"], "http://127.0.0.1:3000"),
  NEXTJS_URL: urlOf(["http:", "https:"], "http://127.0.0.1:3000"),
  // Unset: a free port for the built-in streamer (the gateway hands its URL over
  // internally), 4001 for `npm run streamer`.
  STREAMER_PORT: z.coerce.number().int().nonnegative().max(65_535).optional(),
  NEXTJS_INTERNAL_TOKEN: z.string().min(32).default(DEV_INTERNAL_TOKEN),
  DEFAULT_CHAT_MODEL: z.string().default("chat-model"),
  // The model ids a client may choose (sendMessage's `model`); "*": any, for a
  // streamer that checks them itself. The built-in streamer sends an id it does
  // not know to OpenAI as it is, billed to the operator's key.
  CHAT_MODELS: z
    .string()
    .default("chat-model,chat-model-reasoning")
    .transform((v, ctx) => {
      if (v.trim() === "*") return "*" as const;
      const ids = v
        .split(",")
        .map((id) => id.trim())
        .filter((id) => id !== "");
      if (ids.length > 0) return ids;
      ctx.addIssue({ code: "custom", message: "must list at least one model id, or be *" });
      return z.NEVER;
    }),
  STREAM_MODE: z.enum(["proxy", "direct"]).default("proxy"),
  UPSTREAM_CONNECT_TIMEOUT_MS: positiveMs(10_000),
  UPSTREAM_FIRST_BYTE_TIMEOUT_MS: positiveMs(30_000),
  UPSTREAM_IDLE_TIMEOUT_MS: positiveMs(60_000),
  OPENAI_API_KEY: optionalString,
  OPENAI_BASE_URL: urlOf(["https:", "http:"], "https://api.openai.com/v1"),
  MOCK_DELTA_DELAY_MS: int(30),
  REDIS_URL: urlOf(["redis:", "rediss:"], "redis://127.0.0.1:6379"),
  // How long running turns may go on after SIGTERM before they are stopped;
  // under Kubernetes' default 30 s grace, with room for the exit (src/http/shutdown.ts).
  SHUTDOWN_DRAIN_SECONDS: z.coerce.number().int().nonnegative().max(3600).default(25),
  // Durable turns (README, "Resuming turns and crashes").
  TURN_LOG_RETENTION_SECONDS: z.coerce
    .number()
    .int()
    .nonnegative()
    .max(MAX_TIMER_SECONDS, TIMER_SECONDS_MESSAGE)
    .default(300),
  TURN_MAX_EVENTS: z.coerce.number().int().positive().default(20_000),
  TURN_MAX_BYTES: z.coerce.number().int().positive().default(1_000_000),
  TURN_CHECKPOINT_MS: z.coerce.number().int().nonnegative().max(3_000).default(2_000),
  // A whole turn's bound (0: none); a streamer that never ends must not hold a turn forever.
  TURN_MAX_SECONDS: z.coerce.number().nonnegative().max(MAX_TIMER_SECONDS, TIMER_SECONDS_MESSAGE).default(600),
  // At most 20 s, so a crashed instance's turns end within 30 s (lease + a third).
  TURN_LEASE_SECONDS: z.coerce.number().positive().max(20).default(15),
  PERSISTED_OPERATIONS_ONLY: bool(false),
  // Unset: on in development, off with NODE_ENV=production (see withProductionDefaults).
  GRAPHIQL: optionalBool,
  INTROSPECTION: optionalBool,
  FIELD_SUGGESTIONS: optionalBool,
  CORS_ORIGINS: z
    .string()
    .optional()
    .transform((v, ctx) => {
      const entries = (v ?? "")
        .split(",")
        .map((entry) => entry.trim())
        .filter((entry) => entry !== "");
      const origins = entries.map(originOf);
      const bad = entries.filter((_, i) => origins[i] === null);
      if (bad.length === 0) return origins as string[];
      ctx.addIssue({ code: "custom", message: `not an origin (scheme://host[:port], or *): ${bad.join(", ")}` });
      return z.NEVER;
    }),
  // Metrics and overload (README, "Metrics and alerts"). METRICS unset: on in
  // development, off with NODE_ENV=production.
  METRICS: optionalBool,
  METRICS_TOKEN: optionalString,
  // Turns running or being prepared at once on one instance; 0: no limit.
  MAX_RUNNING_TURNS: int(1_000),
  // Of those, one user's at most (in one process); 0: no limit.
  MAX_RUNNING_TURNS_PER_USER: int(5),
  // p99 event-loop delay (over 1 s) past which new turns are refused; 0: not
  // measured. Unset: 200 in production, 0 in development (a loaded laptop or
  // test machine stalls its loop without being a server under load).
  OVERLOAD_EVENT_LOOP_DELAY_MS: z.coerce.number().int().nonnegative().optional(),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  // Gateway processes behind the one port (node:cluster). Unset: one per core
  // with DATABASE_URL and REDIS_URL, else 1 (src/workers.ts).
  WORKERS: z.coerce.number().int().positive().max(256).optional(),
});

/** Every setting the gateway reads (.env.example lists each: test/config-env-example.test.ts). */
export const SETTING_NAMES = Object.keys(envSchema.shape);

const checkedEnvSchema = envSchema
  .transform(withProductionDefaults)
  .refine((env) => env.GUEST_TOKEN_TTL_SECONDS <= env.MAX_TOKEN_LIFETIME_SECONDS, {
    path: ["GUEST_TOKEN_TTL_SECONDS"],
    message: "must be at most MAX_TOKEN_LIFETIME_SECONDS, or guest tokens would be refused",
  })
  .refine((env) => env.CHAT_MODELS === "*" || env.CHAT_MODELS.includes(env.DEFAULT_CHAT_MODEL), {
    path: ["DEFAULT_CHAT_MODEL"],
    message: "must be one of CHAT_MODELS",
  })
  .refine((env) => env.AUTH_SECRET.trim() !== env.NEXTJS_INTERNAL_TOKEN.trim(), {
    path: ["NEXTJS_INTERNAL_TOKEN"],
    message: "must differ from AUTH_SECRET: every token the gateway sends the streamer would also be a user token here",
  })
  .refine((env) => (env.WORKERS ?? 1) === 1 || (env.DATABASE_URL && env.REDIS_URL), {
    path: ["WORKERS"],
    message:
      "more than 1 needs DATABASE_URL and REDIS_URL: embedded PGlite lives in one process, and without Redis a turn is reachable only on the process that runs it",
  });

/** What a client can learn of the schema, GraphiQL and /metrics: on in development, off in production unless set. */
function withProductionDefaults<
  T extends {
    NODE_ENV: string;
    GRAPHIQL?: boolean;
    INTROSPECTION?: boolean;
    FIELD_SUGGESTIONS?: boolean;
    METRICS?: boolean;
    OVERLOAD_EVENT_LOOP_DELAY_MS?: number;
  },
>(env: T) {
  const development = env.NODE_ENV !== "production";
  return {
    ...env,
    GRAPHIQL: env.GRAPHIQL ?? development,
    INTROSPECTION: env.INTROSPECTION ?? development,
    FIELD_SUGGESTIONS: env.FIELD_SUGGESTIONS ?? development,
    METRICS: env.METRICS ?? development,
    OVERLOAD_EVENT_LOOP_DELAY_MS: env.OVERLOAD_EVENT_LOOP_DELAY_MS ?? (development ? 0 : 200),
  };
}

export type Env = z.infer<typeof checkedEnvSchema>;

/** Settings that fail parsing; `variables` names them (the message says what is wrong with each). */
export class ConfigError extends Error {
  readonly variables: string[];
  constructor(message: string, variables: string[]) {
    super(message);
    this.name = "ConfigError";
    this.variables = variables;
  }
}

export function parseEnv(source: Record<string, string | undefined> = process.env): Env {
  // `KEY=` (compose and Kubernetes files write it) is unset, as for every string and
  // boolean setting: a blank number would otherwise read as 0 (no bound, no quota).
  const set = Object.fromEntries(Object.entries(source).filter(([, value]) => value?.trim() !== ""));
  const result = checkedEnvSchema.safeParse(set);
  if (!result.success) {
    const lines = result.error.issues.map((i) => `  ${i.path.join(".")}: ${i.message}`);
    const variables = [...new Set(result.error.issues.map((i) => i.path.join(".")))];
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`, variables);
  }
  return result.data;
}

/** The bounds of the database's waits, in milliseconds (see src/db/postgres.ts). */
export function databaseTimeoutsOf(env: Env) {
  return {
    connectMs: env.DB_CONNECT_TIMEOUT_MS,
    acquireMs: env.DB_POOL_ACQUIRE_TIMEOUT_MS,
    statementMs: env.DB_STATEMENT_TIMEOUT_MS,
    queryMs: env.DB_QUERY_TIMEOUT_MS,
    migrationMs: env.DB_MIGRATION_TIMEOUT_MS,
  };
}

/**
 * PostgreSQL connections of one gateway process at most: DB_POOL_SIZE, else 20
 * for a process alone and 10 for each of several workers (as every process had
 * before the setting, so an instance of many workers opens no more than it did).
 */
export function poolSizeOf(env: Env, inWorker: boolean): number {
  return env.DB_POOL_SIZE ?? (inWorker ? 10 : 20);
}

/** The streamer base URL, `NEXTJS_URL` accepted as the seed's alias. */
export function streamerUrlOf(env: Env): string | undefined {
  return env.STREAMER_URL ?? env.NEXTJS_URL;
}
