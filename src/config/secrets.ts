import { log } from "../log.ts";
import { isDevelopmentSecret, type Env } from "./env.ts";

/**
 * The secrets still at their committed development values (which is also what
 * an unset one gets), each with why it matters. AUTH_SECRET only signs guest
 * sessions when AUTH_JWKS_URL is set, and they are off while it is the
 * development value (see guestTokensAccepted), so it is not needed then.
 */
export function developmentSecrets(env: Env, role: "gateway" | "streamer"): string[] {
  const found: string[] = [];
  // A secret file's trailing newline does not make the development value another one (isDevelopmentSecret).
  if (role === "gateway" && isDevelopmentSecret(env.AUTH_SECRET) && !env.AUTH_JWKS_URL) {
    found.push("AUTH_SECRET is unset or the development value: anyone could sign user tokens.");
  }
  const internalTokenUsed = role === "streamer" || env.STREAM_MODE === "proxy";
  if (internalTokenUsed && isDevelopmentSecret(env.NEXTJS_INTERNAL_TOKEN)) {
    found.push("NEXTJS_INTERNAL_TOKEN is unset or the development value: anyone could call the streamer as any user.");
  }
  return found;
}

let warned = false;

/**
 * Settings that start but leave a door open, for a warning at start: a JWKS
 * without AUTH_AUDIENCE accepts the tokens its key set signs for any other
 * application of the same identity provider.
 */
export function looseAuthSettings(env: Env): string[] {
  return env.AUTH_JWKS_URL && !env.AUTH_AUDIENCE
    ? [
        "AUTH_JWKS_URL is set without AUTH_AUDIENCE: tokens the identity provider issues to other applications are accepted too. Set AUTH_AUDIENCE (and AUTH_ISSUER) to this API's.",
      ]
    : [];
}

/**
 * With NODE_ENV=production, refuses to start on development secrets, naming
 * each; otherwise warns, once per process.
 */
export function checkSecrets(env: Env, role: "gateway" | "streamer"): void {
  if (role === "gateway") for (const loose of looseAuthSettings(env)) log.warn(loose);
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
