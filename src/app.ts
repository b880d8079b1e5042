import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { createYoga, type Plugin } from "graphql-yoga";
import { createCallerResolver } from "./auth/caller.ts";
import { createUserTokenVerifier } from "./auth/user-token.ts";
import { streamerUrlOf, type Env } from "./config/env.ts";
import type { Database } from "./db/client.ts";
import { migrationsApplied } from "./db/migrate.ts";
import { graphiqlOptions } from "./graphiql.ts";
import { log } from "./log.ts";
import type { Context } from "./schema/context.ts";
import { schema } from "./schema/index.ts";
import type { Services } from "./services.ts";
import { directSource, proxySource, type ChunkSource } from "./turn/chunk-source.ts";
import { TurnRegistry } from "./turn/registry.ts";

export interface AppOptions {
  env: Env;
  db: Database;
  /** Where the streamer runs in proxy mode; defaults to STREAMER_URL (or NEXTJS_URL). */
  streamerUrl?: string;
}

function chunkSourceFor(env: Env, streamerUrl: string | undefined): ChunkSource {
  if (env.STREAM_MODE === "direct") return directSource(env);
  if (!streamerUrl) throw new Error("proxy mode needs STREAMER_URL (or NEXTJS_URL), or the built-in streamer");
  return proxySource(env, streamerUrl);
}

/** The gateway as a fetch-style handler (Yoga), ready to mount on node:http. */
export function createApp({ env, db, streamerUrl = streamerUrlOf(env) }: AppOptions) {
  const tokens = createUserTokenVerifier(env);
  const services: Services = {
    tokens,
    resolveCaller: createCallerResolver(db, tokens),
    turns: new TurnRegistry(db, chunkSourceFor(env, streamerUrl)),
  };

  const yoga = createYoga<Record<string, unknown>, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: "/health",
    landingPage: false,
    graphiql: graphiqlOptions,
    renderGraphiQL,
    logging: env.LOG_LEVEL === "silent" ? false : env.LOG_LEVEL === "debug" ? "debug" : "warn",
    context: async ({ request }) => ({ env, db, services, request, ...(await services.resolveCaller(request)) }),
    plugins: [
      requestSizeLimit(env.MAX_REQUEST_BYTES),
      readiness(db),
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        maxAliases: { n: 15 },
        maxDirectives: { n: 20 },
        maxTokens: { n: 2000 },
        costLimit: { maxCost: 5000 },
        blockFieldSuggestion: { enabled: false },
      }),
    ],
  });

  return { yoga, services };
}

/** Refuses bodies over the limit before they are read (413). */
function requestSizeLimit(maxBytes: number): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const length = Number(request.headers.get("content-length") ?? "0");
      if (length > maxBytes) {
        endResponse(
          new fetchAPI.Response(
            JSON.stringify({
              errors: [{ message: `Request body exceeds ${maxBytes} bytes.`, extensions: { code: "bad_request:api" } }],
            }),
            { status: 413, headers: { "content-type": "application/json" } },
          ),
        );
      }
    },
  };
}

/** `GET /ready`: 200 when the database answers and every migration is applied. */
function readiness(db: Database): Plugin {
  return {
    async onRequest({ request, url, endResponse, fetchAPI }) {
      if (url.pathname !== "/ready" || request.method !== "GET") return;
      let ready = false;
      try {
        ready = await migrationsApplied(db);
      } catch (error) {
        log.warn("readiness check failed", { error });
      }
      endResponse(
        new fetchAPI.Response(JSON.stringify({ ready }), {
          status: ready ? 200 : 503,
          headers: { "content-type": "application/json" },
        }),
      );
    },
  };
}
