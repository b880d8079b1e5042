import type { CORSOptions, Plugin } from "graphql-yoga";
import type { Env } from "../config/env.ts";

const LOCALHOST = new Set(["localhost", "127.0.0.1", "[::1]"]);

/**
 * Which browser origins may read the gateway's answers: those in CORS_ORIGINS
 * (`*` for any), plus, in development, any localhost origin. The gateway's own
 * origin needs no CORS headers. Others get none, so a browser refuses to show
 * them the answer (and to send a preflighted request at all). Credentials are
 * not allowed: the gateway reads bearer tokens, never cookies.
 */
export function corsPolicy(env: Pick<Env, "CORS_ORIGINS" | "NODE_ENV">): (request: Request) => CORSOptions {
  const allowed = new Set(env.CORS_ORIGINS);
  const development = env.NODE_ENV !== "production";
  const isAllowed = (origin: string) =>
    allowed.has("*") || allowed.has(origin) || (development && LOCALHOST.has(hostOf(origin)));

  return (request) => {
    const origin = request.headers.get("origin");
    if (!origin || !isAllowed(origin)) return false;
    // PUT and DELETE: graphql-sse's single-connection mode on /graphql/stream.
    return { origin, credentials: false, methods: ["GET", "POST", "PUT", "DELETE"], maxAge: 600 };
  };
}

/**
 * `Vary: Origin` on every answer: whether it carries CORS headers, and which
 * origin they name, depends on the request's Origin (Yoga adds nothing when
 * the policy names one origin per request), so a shared cache must not give
 * one origin's answer to another.
 */
export function useVaryOrigin(): Plugin {
  return {
    onResponse({ response }) {
      const vary = response.headers.get("vary");
      if (vary === "*" || vary?.split(",").some((name) => name.trim().toLowerCase() === "origin")) return;
      response.headers.set("vary", vary ? `${vary}, Origin` : "Origin");
    },
  };
}

function hostOf(origin: string): string {
  try {
    return new URL(origin).hostname;
  } catch {
    return "";
  }
}
