import type { Plugin } from "graphql-yoga";

/**
 * Refuses request bodies sent with a Content-Encoding (gzip, br...) with 415
 * and `Accept-Encoding: identity` (RFC 7694): the gateway reads bodies as
 * sent, so a compressed one failed as "invalid JSON" and an encoding named
 * on a plain body went unnoticed.
 */
export function useContentEncodingRefusal(): Plugin {
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const encoding = request.headers.get("content-encoding")?.trim().toLowerCase();
      if (!encoding || encoding === "identity") return;
      endResponse(
        fetchAPI.Response.json(
          {
            errors: [
              {
                message: `Cannot read a body sent with content-encoding ${JSON.stringify(encoding)}: send it uncompressed.`,
                extensions: { code: "bad_request:api" },
              },
            ],
          },
          { status: 415, headers: { "accept-encoding": "identity" } },
        ),
      );
    },
  };
}
