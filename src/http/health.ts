import type { Plugin } from "graphql-yoga";

const HEALTH_PATH = "/health";

/**
 * Yoga's own health check answers any URL that merely ends in its endpoint
 * (`/foo/health`, `/graphql?x=/health`); `createYoga` cannot turn it off, so it
 * gets an endpoint no request URL ends with (a space, which a URL always
 * percent-encodes) and this answers the exact path instead.
 */
export const UNMATCHABLE_HEALTH_ENDPOINT = " ";

/** `GET /health`: 200 while the process is up, on that exact path only. */
export function useHealth(): Plugin {
  return {
    onRequest({ url, fetchAPI, endResponse }) {
      if (url.pathname === HEALTH_PATH) endResponse(new fetchAPI.Response(null, { status: 200 }));
    },
  };
}
