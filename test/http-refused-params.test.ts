// Client mistakes in the request's parameters, refused with the Chat SDK code
// every other refused document gets: an operationName that picks no
// operation, and GET parameters that are not JSON.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { log } from "../src/log.ts";
import { newUser } from "./support/fixtures.ts";
import { useTestGateway } from "./support/gateway.ts";
import { subscribeWithFetch } from "./support/sse.ts";

const gateway = useTestGateway({}, { resetEachTest: false });

let errorLog: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  errorLog = vi.spyOn(log, "error");
});
afterEach(() => vi.restoreAllMocks());

async function answer(response: Response) {
  return { status: response.status, body: (await response.json()) as { errors?: any[] } };
}

async function postOperation(body: Record<string, unknown>) {
  const token = await gateway.tokenFor(newUser());
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return answer(response);
}

async function get(params: Record<string, string>, headers: Record<string, string>) {
  const query = new URLSearchParams(params).toString();
  return answer(await fetch(`${gateway.url}/graphql?${query}`, { headers }));
}

describe("an operationName that picks no operation", () => {
  test("a name the document does not have: 400 bad_request:api", async () => {
    const { status, body } = await postOperation({ query: "query A { me { id } }", operationName: "Z" });
    expect(status).toBe(400);
    expect(body.errors).toEqual([
      expect.objectContaining({ extensions: { code: "bad_request:api" }, message: expect.any(String) }),
    ]);
  });

  test("two operations and no operationName: 400 bad_request:api", async () => {
    const { status, body } = await postOperation({ query: "query A { me { id } } query B { me { id } }" });
    expect(status).toBe(400);
    expect(body.errors?.map((e) => e.extensions.code)).toEqual(["bad_request:api"]);
  });

  test("over SSE: the same code", async () => {
    const token = await gateway.tokenFor(newUser());
    const result = await subscribeWithFetch(
      gateway.url,
      {},
      { token, query: "subscription A { __typename } subscription B { __typename }", operationName: "Z" },
    );
    const codes = result.results.flatMap((r) => r.errors ?? []).map((e) => e.extensions?.code);
    expect(codes).toEqual(["bad_request:api"]);
  });
});

describe("GET parameters that are not JSON", () => {
  test("variables with a token: 400 bad_request:api naming the parameter, nothing logged as an error", async () => {
    const token = await gateway.tokenFor(newUser());
    const { status, body } = await get(
      { query: "{ me { id } }", variables: "{bad" },
      { authorization: `Bearer ${token}` },
    );
    expect(status).toBe(400);
    expect(body.errors).toEqual([
      { message: 'The "variables" parameter is not valid JSON.', extensions: { code: "bad_request:api" } },
    ]);
    expect(errorLog).not.toHaveBeenCalled();
  });

  test("extensions with the CSRF header: 400 bad_request:api naming the parameter", async () => {
    const { status, body } = await get(
      { query: "{ __typename }", variables: '{"a":1}', extensions: "{bad" },
      { "x-graphql-yoga-csrf": "1" },
    );
    expect(status).toBe(400);
    expect(body.errors).toEqual([
      { message: 'The "extensions" parameter is not valid JSON.', extensions: { code: "bad_request:api" } },
    ]);
  });

  test("a form-encoded POST's variables: 400 bad_request:api", async () => {
    const token = await gateway.tokenFor(newUser());
    const response = await fetch(`${gateway.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", authorization: `Bearer ${token}` },
      body: new URLSearchParams({ query: "{ me { id } }", variables: "{bad" }).toString(),
    });
    const { status, body } = await answer(response);
    expect(status).toBe(400);
    expect(body.errors?.map((e) => e.extensions.code)).toEqual(["bad_request:api"]);
    expect(body.errors?.[0].message).toMatch(/not valid JSON/);
  });

  test("valid JSON parameters still run", async () => {
    const { status, body } = await get(
      { query: "query Q($a: Boolean!) { __typename @skip(if: $a) }", variables: '{"a":false}', extensions: "{}" },
      { "x-graphql-yoga-csrf": "1" },
    );
    expect(status).toBe(200);
    expect(body).toEqual({ data: { __typename: "Query" } });
  });
});
