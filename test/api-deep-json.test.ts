// JSON nested deeper than the gateway stores, from a user: refused at the edge
// with bad_request:api naming the bound, never a database error (which raises
// an alert) nor a JavaScript stack overflow's text.
import { afterEach, beforeEach, describe, expect, test, vi } from "vitest";
import { MAX_JSON_DEPTH, nestsDeeperThan } from "../src/config/json-depth.ts";
import { log } from "../src/log.ts";
import { CREATE_CHAT, expectOk, newId, SAVE_MESSAGES } from "./support/fixtures.ts";
import { useTestGateway, type GraphQLResult } from "./support/gateway.ts";

const gateway = useTestGateway();

let errorLog: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  errorLog = vi.spyOn(log, "error");
});
afterEach(() => vi.restoreAllMocks());

/** A value of `depth` levels of objects: `{ a: { a: ... 1 } }`. */
function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = { a: value };
  return value;
}

/** `nested(depth)` as JSON text, which JSON.stringify would overflow the stack writing. */
const nestedJson = (depth: number) => `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`;

/** Saves one assistant message whose single data part holds the JSON text `data`, sent as it is. */
async function saveData(data: string): Promise<GraphQLResult> {
  const token = await gateway.tokenFor({ id: `user-${newId()}` });
  const { createChat } = expectOk(await gateway.gql(CREATE_CHAT, { input: {} }, token));
  const message = `{"id":"${newId()}","role":"ASSISTANT","parts":[{"type":"data-x","data":${data}}]}`;
  const response = await fetch(`${gateway.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: `{"query":${JSON.stringify(SAVE_MESSAGES)},"variables":{"chatId":"${createChat.id}","messages":[${message}]}}`,
  });
  return response.json();
}

describe("nestsDeeperThan", () => {
  test("counts arrays and objects alike, and scalars not at all", () => {
    expect(nestsDeeperThan("text", 0)).toBe(false);
    expect(nestsDeeperThan({}, 1)).toBe(false);
    expect(nestsDeeperThan({ a: [] }, 1)).toBe(true);
    expect(nestsDeeperThan([1, { a: "b" }], 2)).toBe(false);
    expect(nestsDeeperThan([1, [[]], { a: "b" }], 2)).toBe(true);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH))).toBe(false);
    expect(nestsDeeperThan(nested(MAX_JSON_DEPTH + 1))).toBe(true);
  });

  test("walks a value a million levels deep without overflowing the stack", () => {
    expect(nestsDeeperThan(nested(1_000_000))).toBe(true);
  });
});

describe("saveMessages", () => {
  // The parts array and the part object are two of the levels.
  test(`data as deep as the bound allows (${MAX_JSON_DEPTH} levels in all) is stored`, async () => {
    expectOk(await saveData(nestedJson(MAX_JSON_DEPTH - 2)));
  });

  test.each([MAX_JSON_DEPTH - 1, 200, 100_000])(
    "data nested %i levels: bad_request:api naming the bound, nothing logged as an error",
    async (depth) => {
      const result = await saveData(nestedJson(depth));
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: `messages.0: parts must nest at most ${MAX_JSON_DEPTH} levels of arrays and objects`,
          extensions: { code: "bad_request:api" },
        }),
      ]);
      expect(errorLog).not.toHaveBeenCalled();
    },
  );
});

describe("in the document itself", () => {
  test.each([5_000, 50_000])(
    "a list literal nested %i levels: a syntax error with bad_request:api, nothing logged as an error",
    async (depth) => {
      const token = await gateway.tokenFor({ id: `user-${newId()}` });
      const literal = `${"[".repeat(depth)}1${"]".repeat(depth)}`;
      const response = await fetch(`${gateway.url}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ query: `mutation { saveMessages(chatId: "x", messages: ${literal}) { id } }` }),
      });
      // As every syntax error is answered (200 to a client that accepts only application/json).
      expect(response.status).toBeLessThan(500);
      const result = (await response.json()) as GraphQLResult;
      expect(result.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(/^Syntax Error/),
          extensions: { code: "bad_request:api" },
        }),
      ]);
      expect(errorLog).not.toHaveBeenCalled();
    },
  );
});

test('a JSON value with a "__proto__" key, at any depth, is refused with bad_request:api, not stored without it', async () => {
  for (const data of ['{"__proto__":{"evil":1},"a":1}', '{"a":[{"b":{"__proto__":null}}]}']) {
    const result = await saveData(data);
    expect(result.errors?.[0]?.extensions?.code).toBe("bad_request:api");
    expect(result.errors?.[0]?.message).toContain('a key named "__proto__" is not accepted in JSON values');
  }
  // A key merely holding the word is fine.
  expect(expectOk(await saveData('{"proto":1,"__proto":2}')).saveMessages).toHaveLength(1);
  expect(errorLog).not.toHaveBeenCalled();
});
