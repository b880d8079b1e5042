import { workerInstanceSlots } from "./turn/turn-slots.ts";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { useDisableIntrospection } from "@graphql-yoga/plugin-disable-introspection";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { createYoga } from "graphql-yoga";
import type { IncomingMessage } from "node:http";
import { createCallerResolver } from "./auth/caller.ts";
import { clientAddress } from "./auth/client-address.ts";
import { createGuestSessionLimiter } from "./auth/guest-limit.ts";
import { createUserTokenVerifier } from "./auth/user-token.ts";
import { isDevelopmentSecret, streamerUrlOf, type Env } from "./config/env.ts";
import type { Database } from "./db/client.ts";
import { useApolloMultipartSubscriptions } from "./http/apollo-multipart.ts";
import { useDemoPage } from "./http/demo-page.ts";
import { useEventStreamBody } from "./http/event-stream-body.ts";
import { graphiqlOptions } from "./graphiql.ts";
import { corsPolicy, useVaryOrigin } from "./http/cors.ts";
import { useContentEncodingRefusal } from "./http/content-encoding.ts";
import { useCsrfPrevention } from "./http/csrf.ts";
import { maskedError } from "./http/stream-errors.ts";
import { log, yogaLogger } from "./log.ts";
import { UNSAVED_KEEP_MS } from "./turn/unsaved-turns.ts";
import { useChatSDKErrorCodes } from "./http/error-codes.ts";
import { useNoErrorInternals } from "./http/error-internals.ts";
import { useDeepDocumentRefusal } from "./http/deep-documents.ts";
import { useInvalidParamJson } from "./http/invalid-param-json.ts";
import { useMetrics } from "./http/metrics-endpoint.ts";
import { useReadiness } from "./http/readiness.ts";
import { UNMATCHABLE_HEALTH_ENDPOINT, useHealth } from "./http/health.ts";
import { useNoSuggestions } from "./http/suggestions.ts";
import { RedisConnections } from "./redis/connections.ts";
import { useJitStreamEvents } from "./http/jit-stream-events.ts";
import { useKnownClientParams } from "./http/known-client-params.ts";
import { useMediaTypeRefusals } from "./http/media-type-refusals.ts";
import { useRequestSizeLimit } from "./http/request-size.ts";
import { usePersistedOperationsOnly } from "./http/persisted-operations.ts";
import type { EventStreams } from "./http/single-connection/event-streams.ts";
import { MemoryEventStreams } from "./http/single-connection/memory-event-streams.ts";
import { RedisEventStreams } from "./http/single-connection/redis-event-streams.ts";
import { createStreamTokens } from "./http/single-connection/stream-token.ts";
import { useSingleConnection } from "./http/single-connection/use-single-connection.ts";
import type { Context } from "./schema/context.ts";
import { schema } from "./schema/index.ts";
import { PublicReaders } from "./schema/public-readers.ts";
import type { Services } from "./services.ts";
import { directSource, proxySource, type ChunkSource } from "./turn/chunk-source.ts";
import { MemoryTurnLog } from "./turn/memory-turn-log.ts";
import { RedisTurnLog } from "./turn/redis-turn-log.ts";
import { TurnRegistry } from "./turn/registry.ts";
import type { TurnLog } from "./turn/turn-log.ts";

export interface AppOptions {
  env: Env;
  db: Database;
  /** Where the streamer runs in proxy mode; defaults to STREAMER_URL (or NEXTJS_URL). */
  streamerUrl?: string;
  /** The built demo page served at / (default dist/demo). */
  demoDir?: string;
}

function chunkSourceFor(env: Env, streamerUrl: string | undefined): ChunkSource {
  if (env.STREAM_MODE === "direct") return directSource(env);
  if (!streamerUrl) throw new Error("proxy mode needs STREAMER_URL (or NEXTJS_URL), or the built-in streamer");
  return proxySource(env, streamerUrl);
}

/**
 * Whether single-connection mode's stream tokens have a key no one else knows:
 * they are signed with one derived from AUTH_SECRET, which a production
 * gateway on a JWKS may leave at its development value (guest sessions are off
 * then). Such a gateway serves no /graphql/stream, and says so at start.
 */
function streamTokensKeyed(env: Env): boolean {
  if (env.NODE_ENV !== "production" || !isDevelopmentSecret(env.AUTH_SECRET)) return true;
  log.warn(
    "single-connection mode (/graphql/stream) is off: its tokens are signed with a key derived from AUTH_SECRET, which is unset; set it to serve it",
  );
  return false;
}

/** With REDIS_URL a Redis Stream per turn, readable from every instance; otherwise this process's memory. */
function turnLogFor(env: Env, redis: RedisConnections | null): TurnLog {
  const retentionMs = env.TURN_LOG_RETENTION_SECONDS * 1000;
  if (!redis) return new MemoryTurnLog({ retentionMs });
  return RedisTurnLog.over(redis, { retentionMs, maxEvents: env.TURN_MAX_EVENTS });
}

/** Single-connection mode's event streams: with REDIS_URL, shared by every instance (no sticky sessions). */
async function eventStreamsFor(redis: RedisConnections | null): Promise<EventStreams> {
  return redis ? RedisEventStreams.connect(redis) : new MemoryEventStreams();
}

/**
 * The gateway as a fetch-style handler (Yoga), ready to mount on node:http;
 * with REDIS_URL, connected to the other instances' stop bus and turn log.
 */
export async function createApp({ env, db, streamerUrl = streamerUrlOf(env), demoDir }: AppOptions) {
  const tokens = createUserTokenVerifier(env);
  // One set of connections for the turn log, the stop bus and the event streams.
  const redis = env.REDIS_URL ? await RedisConnections.connect(env.REDIS_URL) : null;
  const services: Services = {
    tokens,
    resolveCaller: createCallerResolver(db, tokens),
    turns: new TurnRegistry(db, chunkSourceFor(env, streamerUrl), {
      turnLog: turnLogFor(env, redis),
      settings: {
        maxEvents: env.TURN_MAX_EVENTS,
        maxBytes: env.TURN_MAX_BYTES,
        checkpointMs: env.TURN_CHECKPOINT_MS,
        maxMs: env.TURN_MAX_SECONDS * 1000,
      },
      leaseSeconds: env.TURN_LEASE_SECONDS,
      unsavedRetentionMs: UNSAVED_KEEP_MS,
      overload: {
        maxRunningTurns: env.MAX_RUNNING_TURNS,
        eventLoopDelayMs: env.OVERLOAD_EVENT_LOOP_DELAY_MS,
        instanceSlots: workerInstanceSlots(),
      },
      maxRunningTurnsPerUser: env.MAX_RUNNING_TURNS_PER_USER,
    }),
    guestSessions: createGuestSessionLimiter(env.GUEST_SESSIONS_PER_HOUR, env.REDIS_URL),
    publicReaders: new PublicReaders(db),
  };
  const eventStreams = await eventStreamsFor(redis);
  // An instance counts guest sessions with the others from its first sign-in.
  await services.guestSessions.ready();

  const yoga = createYoga<{ req?: IncomingMessage }, Context>({
    schema,
    graphqlEndpoint: "/graphql",
    healthCheckEndpoint: UNMATCHABLE_HEALTH_ENDPOINT,
    landingPage: false,
    cors: corsPolicy(env),
    graphiql: env.GRAPHIQL ? graphiqlOptions : false,
    renderGraphiQL,
    logging: yogaLogger,
    // useRequestSizeLimit (below) enforces MAX_REQUEST_BYTES, with or without
    // Content-Length. Yoga's own 25 MB limit would re-wrap every request body
    // in a TransformStream and a new Request (its cost: BENCHMARKS.md, "What was tried").
    maxRequestBodySize: false,
    // Never the original error (with its stack) in a response, whatever NODE_ENV says.
    maskedErrors: { isDev: false, maskError: (error, message) => maskedError(error, message) },
    context: async ({ request, req }) => ({
      env,
      db,
      services,
      request,
      clientAddress: clientAddress(request, req?.socket.remoteAddress, env.TRUST_PROXY),
      ...(await services.resolveCaller(request)),
    }),
    plugins: [
      useHealth(),
      useRequestSizeLimit(env.MAX_REQUEST_BYTES),
      useContentEncodingRefusal(),
      // graphql-sse's single-connection mode on /graphql/stream: each operation
      // sent there runs through this Yoga as a POST to /graphql.
      ...(streamTokensKeyed(env)
        ? [
            useSingleConnection({
              streams: eventStreams,
              tokens: createStreamTokens(env.AUTH_SECRET),
              resolveCaller: services.resolveCaller,
              clientAddress: (request, { req }) => clientAddress(request, req?.socket.remoteAddress, env.TRUST_PROXY),
              maxRequestBytes: env.MAX_REQUEST_BYTES,
              execute: (request, serverContext): Promise<Response> | Response => yoga.fetch(request, serverContext),
            }),
          ]
        : []),
      useCsrfPrevention(),
      useVaryOrigin(),

      useKnownClientParams(),
      useInvalidParamJson(),
      useMediaTypeRefusals(),
      useApolloMultipartSubscriptions(),
      useEventStreamBody(),
      useChatSDKErrorCodes(),
      useNoErrorInternals(),
      useReadiness(db, services.turns),
      useMetrics({ enabled: env.METRICS, token: env.METRICS_TOKEN }),
      useDemoPage({
        dir: demoDir,
        persistedOperationsOnly: env.PERSISTED_OPERATIONS_ONLY,
        maxTextLength: env.MAX_TEXT_LENGTH,
      }),
      ...(env.PERSISTED_OPERATIONS_ONLY ? [usePersistedOperationsOnly()] : []),
      ...(env.INTROSPECTION ? [] : [useDisableIntrospection()]),
      ...(env.FIELD_SUGGESTIONS ? [] : [useNoSuggestions()]),
      EnvelopArmorPlugin({
        maxDepth: { n: 12 },
        // __typename aliases count too (armor lets them through by default): each repeats the
        // alias in every result, so a few long ones multiply every event of a stream.
        maxAliases: { n: 15, allowList: [] },
        maxDirectives: { n: 20 },
        maxTokens: { n: 2000 },
        // Armor multiplies by literal `first:` values; a full page of messages with
        // every part type costs about 41,000, a page of chats of pages far more.
        costLimit: { maxCost: 100_000 },
        // useNoSuggestions (FIELD_SUGGESTIONS) covers validation errors and more.
        blockFieldSuggestion: { enabled: false },
      }),
      // After graphql-armor, whose token limit sets a parse function of its own: this one wraps it.
      useDeepDocumentRefusal(),
      // Last: it ends the onSubscribe hooks of the plugins after it (see its comment).
      useJitStreamEvents(),
    ],
  });

  if (redis) await services.turns.connectStopBus(redis);
  // The embedded database has one instance: turns active at its start were left by its previous run.
  await services.turns.startLeases({ recoverNow: db.kind === "pglite" && !env.REDIS_URL });
  return { yoga, services, eventStreams };
}
