import { log } from "../log.ts";
import { DEV_AUTH_SECRET, DEV_INTERNAL_TOKEN, type Env } from "./env.ts";

/**
 * The secrets still at their committed development values (which is also what
 * an unset one gets), each with why it matters. AUTH_SECRET only signs guest
 * sessions when AUTH_JWKS_URL is set, and they are off while it is the
 * development value (see guestTokensAccepted), so it is not needed then.
 */
export function developmentSecrets(env: Env, role: "gateway" | "streamer"): string[] {
  const found: string[] = [];
  // Trimmed: a secret file's trailing newline does not make the development value another one.
  if (role === "gateway" && env.AUTH_SECRET.trim() === DEV_AUTH_SECRET && !env.AUTH_JWKS_URL) {
    found.push("AUTH_SECRET is unset or the development value: anyone could sign user tokens.");
  }
  const internalTokenUsed = role === "streamer" || env.STREAM_MODE === "proxy";
  if (internalTokenUsed && env.NEXTJS_INTERNAL_TOKEN.trim() === DEV_INTERNAL_TOKEN) {
    found.push("NEXTJS_INTERNAL_TOKEN is unset or the development value: anyone could call the streamer as any user.");
  }
  return found;
}

let warned = false;

/**
 * With NODE_ENV=production, refuses to start on development secrets, naming
 * each; otherwise warns, once per process.
 */
export function checkSecrets(env: Env, role: "gateway" | "streamer"): void {
  const found = developmentSecrets(env, role);
  if (found.length === 0) return;
  const advice = "Set each to a random value of at least 32 characters (e.g. `openssl rand -base64 32`).";
  if (env.NODE_ENV === "production") {
    throw new Error(`Refusing to start with NODE_ENV=production:\n  ${found.join("\n  ")}\n${advice}`);
  }
  if (warned) return;
  warned = true;
  log.warn(`development secrets in use (refused with NODE_ENV=production): ${found.join(" ")}`);
}

/** The configuration's secrets, as values a log line must never hold (log.ts redactInLogs). */
export function secretsOf(env: Env): (string | undefined)[] {
  const passwordOf = (url: string | undefined) => {
    const password = url ? URL.parse(url)?.password : "";
    return password ? decodeURIComponent(password) : undefined;
  };
  return [
    env.AUTH_SECRET,
    env.NEXTJS_INTERNAL_TOKEN,
    env.OPENAI_API_KEY,
    env.METRICS_TOKEN,
    passwordOf(env.DATABASE_URL),
    passwordOf(env.REDIS_URL),
  ];
}
