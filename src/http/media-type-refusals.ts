import { createGraphQLError, type Plugin } from "graphql-yoga";
import { acceptsApolloMultipart } from "./apollo-multipart.ts";

// What Yoga's parsers and result processors (with ours) take and give.
const REQUEST_TYPES = [
  "application/json",
  "application/graphql+json",
  "application/graphql",
  "application/x-www-form-urlencoded",
  "multipart/form-data",
];
const RESPONSE_TYPES = ["application/graphql-response+json", "application/json"];
const SUBSCRIPTION_TYPES = ["text/event-stream", 'multipart/mixed;subscriptionSpec="1.0"'];
const STREAM_RANGES = new Set(["*/*", "text/*", "text/event-stream"]);

/**
 * Explains Yoga's empty 406 (nothing in Accept it can answer with) and 415 (a
 * body it cannot read) in a JSON body, in the same error form as every other
 * refusal. A subscription whose client cannot read a stream is refused before
 * it runs: Yoga picks the response format only after executing, which would
 * start a turn (stored, upstream called, quota spent) and answer 406 with it.
 */
export function useMediaTypeRefusals(): Plugin {
  return {
    onSubscribe({ args, setResultAndStopExecution }) {
      const request = (args.contextValue as { request?: Request }).request;
      if (!request || readsStreams(request)) return;
      setResultAndStopExecution({
        errors: [
          createGraphQLError(notAcceptable(request), {
            extensions: { code: "bad_request:api", http: { status: 406 } },
          }),
        ],
      });
    },
    onResponse({ request, response, setResponse, fetchAPI }) {
      if ((response.status !== 406 && response.status !== 415) || response.body !== null) return;
      const error =
        response.status === 406
          ? {
              message: notAcceptable(request),
              extensions: { code: "bad_request:api", accept: [...RESPONSE_TYPES, ...SUBSCRIPTION_TYPES] },
            }
          : {
              message:
                `Cannot read a ${request.method} body of content-type ${quoted(request.headers.get("content-type"))}. ` +
                `Send the operation as ${REQUEST_TYPES[0]} (or ${REQUEST_TYPES.slice(1).join(", ")}), or as a GET with query parameters.`,
              extensions: { code: "bad_request:api", contentType: REQUEST_TYPES },
            };
      const headers = new fetchAPI.Headers(response.headers);
      headers.set("content-type", "application/json; charset=utf-8");
      setResponse(new fetchAPI.Response(JSON.stringify({ errors: [error] }), { status: response.status, headers }));
    },
  };
}

function readsStreams(request: Request): boolean {
  const accept = request.headers.get("accept");
  if (!accept) return true;
  const ranges = accept.split(",").map((range) => range.split(";")[0].trim().toLowerCase());
  return ranges.some((range) => STREAM_RANGES.has(range)) || acceptsApolloMultipart(request);
}

function notAcceptable(request: Request): string {
  // A browser opening /graphql: GraphiQL would have answered, were it on.
  const page =
    request.method === "GET" && request.headers.get("accept")?.includes("text/html")
      ? " GraphiQL is off here (GRAPHIQL=false, or NODE_ENV=production without GRAPHIQL=true; GRAPHIQL=true serves it)."
      : "";
  return (
    `Cannot answer in any media type this request accepts (accept: ${quoted(request.headers.get("accept"))}). ` +
    `Results come as ${RESPONSE_TYPES.join(" or ")}; subscriptions only as ${SUBSCRIPTION_TYPES.join(" or ")}.${page}`
  );
}

function quoted(header: string | null): string {
  if (header === null) return "none";
  return JSON.stringify(header.length > 200 ? `${header.slice(0, 200)}…` : header);
}
