import {
  ServerResponse,
  STATUS_CODES,
  type IncomingMessage,
  type OutgoingHttpHeader,
  type OutgoingHttpHeaders,
} from "node:http";

type Headers = OutgoingHttpHeaders | OutgoingHttpHeader[];

/**
 * A response whose status line always has its reason phrase: a fetch
 * `Response` built without `statusText` (the gateway's own refusals, the
 * single-connection endpoint's answers) would otherwise go out as
 * `HTTP/1.1 404 ` with none, which some proxies and clients log as malformed.
 */
export class ReasonedResponse<Request extends IncomingMessage = IncomingMessage> extends ServerResponse<Request> {
  override writeHead(statusCode: number, reasonOrHeaders?: string | Headers, headers?: Headers): this {
    if (typeof reasonOrHeaders !== "string") return super.writeHead(statusCode, reasonOrHeaders);
    return super.writeHead(statusCode, reasonOrHeaders || (STATUS_CODES[statusCode] ?? "Unknown"), headers);
  }
}
