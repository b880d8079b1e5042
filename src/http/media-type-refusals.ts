import type { Plugin } from "graphql-yoga";

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

/**
 * Gives Yoga's empty 406 (nothing in Accept it can answer with) and 415 (a
 * body it cannot read) a JSON body that says what it expected, in the same
 * error form as every other refusal.
 */
export function useMediaTypeRefusals(): Plugin {
  return {
    onResponse({ request, response, setResponse, fetchAPI }) {
      if ((response.status !== 406 && response.status !== 415) || response.body !== null) return;
      const error =
        response.status === 406
          ? {
              message:
                `Cannot answer in any media type this request accepts (accept: ${quoted(request.headers.get("accept"))}). ` +
                `Results come as ${RESPONSE_TYPES.join(" or ")}; subscriptions also as ${SUBSCRIPTION_TYPES.join(" or ")}.`,
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

function quoted(header: string | null): string {
  if (header === null) return "none";
  return JSON.stringify(header.length > 200 ? `${header.slice(0, 200)}…` : header);
}
