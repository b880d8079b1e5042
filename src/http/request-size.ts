import { createGraphQLError, type Plugin } from "graphql-yoga";

/**
 * Refuses request bodies over `maxBytes` with 413: at once when Content-Length
 * says so, and while reading a body sent without one (chunked).
 */
export function useRequestSizeLimit(maxBytes: number): Plugin {
  const tooLarge = () =>
    createGraphQLError(`Request body exceeds ${maxBytes} bytes.`, {
      extensions: { code: "bad_request:api", http: { status: 413 } },
    });
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      if (Number(request.headers.get("content-length") ?? "0") <= maxBytes) return;
      endResponse(
        fetchAPI.Response.json(
          { errors: [{ message: tooLarge().message, extensions: { code: "bad_request:api" } }] },
          { status: 413 },
        ),
      );
    },
    onRequestParse({ request, requestParser, setRequestParser }) {
      if (request.method !== "POST" || request.headers.has("content-length") || !requestParser) return;
      setRequestParser(async (original) => {
        const body = await readAtMost(original, maxBytes, tooLarge);
        return requestParser(
          new Request(original.url, { method: "POST", headers: original.headers, body: new Uint8Array(body) }),
        );
      });
    },
  };
}

export async function readAtMost(request: Request, maxBytes: number, tooLarge: () => Error): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body?.getReader();
  while (reader) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}
