import { useCSRFPrevention } from "@graphql-yoga/plugin-csrf-prevention";
import { createGraphQLError, type Plugin } from "graphql-yoga";

/**
 * Headers a browser sends cross-origin only after a CORS preflight, so their
 * presence shows the request is not a form post or a plain link from another
 * site. `authorization` is one: every signed-in request carries it.
 */
export const CSRF_HEADERS = ["x-graphql-yoga-csrf", "apollo-require-preflight", "authorization"];

/**
 * Refuses requests a browser sends from any site without a preflight (GET, and
 * POST as a form or text/plain) unless they carry one of CSRF_HEADERS, with a
 * message saying what to send instead. JSON POSTs are preflighted and pass.
 */
export function useCsrfPrevention(): Plugin {
  const { onRequestParse } = useCSRFPrevention({ requestHeaders: CSRF_HEADERS }) as Required<
    Pick<Plugin, "onRequestParse">
  >;
  return {
    onRequestParse(payload) {
      try {
        return onRequestParse(payload);
      } catch {
        throw createGraphQLError(
          "Send the operation as a JSON POST (content-type: application/json), or add an x-graphql-yoga-csrf header.",
          { extensions: { code: "bad_request:api", http: { status: 403 } } },
        );
      }
    },
  };
}
