// A tiny leveled logger writing one JSON line per entry to stderr.
const LEVELS = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 } as const;
export type LogLevel = keyof typeof LEVELS;

let threshold: number = LEVELS[(process.env.LOG_LEVEL as LogLevel) ?? "info"] ?? LEVELS.info;

export function setLogLevel(level: LogLevel): void {
  threshold = LEVELS[level];
}

function write(level: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>): void {
  if (LEVELS[level] < threshold) return;
  const entry: Record<string, unknown> = { level, time: new Date().toISOString(), msg, ...fields };
  if (entry.error instanceof Error) {
    const e = entry.error;
    entry.error = { name: e.name, message: e.message, stack: e.stack };
  }
  const line = secrets.length === 0 ? JSON.stringify(entry) : JSON.stringify(entry, redacting);
  process.stderr.write(`${line}\n`);
}

let secrets: string[] = [];

/**
 * JSON.stringify's replacer: each string value with the secrets in it
 * replaced, before it is escaped into the line, so the line stays JSON and a
 * short secret cannot take a number, a key or the level out of it.
 */
function redacting(key: string, value: unknown): unknown {
  if (typeof value !== "string" || key === "level" || key === "time") return value;
  let text = value;
  for (const secret of secrets) if (text.includes(secret)) text = text.replaceAll(secret, "[redacted]");
  return text;
}

// Shorter values would take ordinary words and keys out of every line.
const MIN_SECRET_LENGTH = 4;

/**
 * Values never written to the log, wherever they turn up in a string of a
 * line (a streamer's error text that echoes its API key, a URL with its
 * password): the process's own secrets, from its configuration, as they are
 * and percent-encoded (as a URL holds them).
 */
export function redactInLogs(values: readonly (string | undefined)[]): void {
  const forms = values
    .filter((v): v is string => typeof v === "string" && v.length >= MIN_SECRET_LENGTH)
    .flatMap((secret) => [secret, encodeURIComponent(secret)]);
  // Longest first, so a secret holding another is redacted whole.
  secrets = [...new Set([...secrets, ...forms])].sort((a, b) => b.length - a.length);
}

/** Yoga's logger, writing through this one (JSON lines, LOG_LEVEL, redaction). */
export const yogaLogger = {
  debug: (...args: unknown[]) => yogaWrite("debug", args),
  info: (...args: unknown[]) => yogaWrite("info", args),
  warn: (...args: unknown[]) => yogaWrite("warn", args),
  error: (...args: unknown[]) => yogaWrite("error", args),
};

function yogaWrite(level: Exclude<LogLevel, "silent">, args: unknown[]): void {
  if (LEVELS[level] < threshold) return;
  const error = args.find((arg) => arg instanceof Error);
  const text = args.filter((arg) => typeof arg === "string").join(" ");
  write(level, text || (error instanceof Error ? error.message : "graphql-yoga"), {
    source: "graphql-yoga",
    ...(error ? { error } : {}),
  });
}

export const log = {
  debug: (msg: string, fields?: Record<string, unknown>) => write("debug", msg, fields),
  info: (msg: string, fields?: Record<string, unknown>) => write("info", msg, fields),
  warn: (msg: string, fields?: Record<string, unknown>) => write("warn", msg, fields),
  error: (msg: string, fields?: Record<string, unknown>) => write("error", msg, fields),
};
