import { createGraphQLError, type Plugin } from "graphql-yoga";

const JSON_PARAMS = ["variables", "extensions"] as const;

/**
 * Refuses a GET (or form-encoded POST) whose `variables` or `extensions`
 * parameter is not JSON with 400 `bad_request:api`, as Yoga refuses a POST
 * body that is not JSON. Yoga parses those parameters without a guard: its
 * SyntaxError became a masked 500 and an error-level log line, for a
 * client's mistake.
 */
export function useInvalidParamJson(): Plugin {
  return {
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (!requestParser || !readsSearchParams(request)) return;
      setRequestParser((original) => {
        let parsed: ReturnType<typeof requestParser>;
        try {
          parsed = requestParser(original);
        } catch (error) {
          throw refused(error, original);
        }
        return parsed instanceof Promise
          ? parsed.catch((error: unknown) => Promise.reject(refused(error, original)))
          : parsed;
      });
    },
  };
}

function readsSearchParams(request: Request): boolean {
  if (request.method === "GET") return true;
  const type = request.headers.get("content-type")?.split(",")[0].split(";")[0].trim().toLowerCase();
  return request.method === "POST" && type === "application/x-www-form-urlencoded";
}

function refused(error: unknown, request: Request): unknown {
  if (!(error instanceof SyntaxError)) return error;
  const name = request.method === "GET" ? invalidParam(request.url) : null;
  const what = name ? `The "${name}" parameter` : `The ${JSON_PARAMS.map((p) => `"${p}"`).join(" or ")} parameter`;
  return createGraphQLError(`${what} is not valid JSON.`, {
    extensions: { code: "bad_request:api", http: { status: 400 } },
  });
}

/** Which JSON parameter of the URL does not parse (the body of a form POST is read by then). */
function invalidParam(url: string): string | null {
  const params = new URL(url, "http://localhost").searchParams;
  for (const name of JSON_PARAMS) {
    const value = params.get(name);
    if (!value) continue;
    try {
      JSON.parse(value);
    } catch {
      return name;
    }
  }
  return null;
}
