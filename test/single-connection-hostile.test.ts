// /graphql/stream as a hostile or careless client uses it: bodies /graphql
// refuses as a whole, other users' streams, odd operation ids. Every refusal is
// the protocol's JSON `{"errors": [...]}` with a code, and nothing runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeGateway, failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { openStream, payloadOf, reserveStream } from "./support/single-connection.ts";

failOnUnhandledRejections();

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({});
});
afterAll(() => closeGateway(gateway));

function post(streamToken: string, token: string, body: unknown): Promise<Response> {
  return fetch(`${gateway.url}/graphql/stream`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${token}`,
      "x-graphql-event-stream-token": streamToken,
      "content-type": "application/json",
    },
    body: JSON.stringify(body),
  });
}

describe("/graphql/stream against hostile requests", () => {
  it("answers a body /graphql refuses as a whole with JSON errors on the POST, not an event stream", async () => {
    const token = await gateway.tokenFor({ id: "hostile-body-user" });
    const streamToken = await reserveStream(gateway.url, token);
    const stream = await openStream(gateway.url, streamToken, token);
    try {
      const bodies = [
        { query: "{ me { id } }", unexpected: 1, extensions: { operationId: "unknown-key" } },
        { query: 5, extensions: { operationId: "query-number" } },
        { query: "{ me { id } }", variables: "x", extensions: { operationId: "variables-string" } },
      ];
      for (const body of bodies) {
        const response = await post(streamToken, token, body);
        expect(response.status).toBe(400);
        expect(response.headers.get("content-type")).toContain("application/json");
        const { errors } = (await response.json()) as { errors: { message: string; extensions: { code: string } }[] };
        expect(errors[0]).toMatchObject({ message: expect.any(String), extensions: { code: "bad_request:api" } });
      }
      // The operations refused never reached the stream, and their ids are free again.
      const again = await post(streamToken, token, {
        query: "{ me { id } }",
        extensions: { operationId: "unknown-key" },
      });
      expect(again.status).toBe(202);
      const result = await stream.waitFor((frame) => payloadOf(frame, "unknown-key") !== null);
      expect(payloadOf(result, "unknown-key")).toEqual({ data: { me: { id: "hostile-body-user" } } });
    } finally {
      stream.close();
    }
  });
});
