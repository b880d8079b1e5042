// src/http/coalesce-writes.ts: a response's writes made in one turn of the
// event loop leave in one socket write, every corked response is flushed.
import { request, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createGatewayServer } from "../src/http/coalesce-writes.ts";

let server: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

/** Counts the socket's writes (one each `_write` or `_writev`: one syscall each). */
function countSocketWrites(response: ServerResponse): { count: number } {
  const socket = response.socket as unknown as Record<string, (...args: unknown[]) => unknown>;
  const counter = { count: 0 };
  for (const method of ["_write", "_writev"]) {
    const original = socket[method];
    socket[method] = function (this: unknown, ...args: unknown[]) {
      counter.count++;
      return original.apply(this, args);
    };
  }
  return counter;
}

function get(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, (response) => {
      let text = "";
      response.setEncoding("utf8");
      response.on("data", (piece: string) => (text += piece));
      response.on("end", () => resolve(text));
    })
      .on("error", reject)
      .end();
  });
}

describe("coalesced response writes", () => {
  it("sends writes made across microtasks of one event-loop turn in one socket write, for every response", async () => {
    const counts: number[] = [];
    server = createGatewayServer(
      (_request, response) => {
        response.writeHead(200, { "content-type": "text/plain" });
        response.write("start;");
        setTimeout(async () => {
          const writes = countSocketWrites(response);
          for (const piece of ["a;", "b;", "c;"]) {
            response.write(piece);
            // Node corks a response only until the next tick; a turn's events are written across microtasks.
            await Promise.resolve();
          }
          setImmediate(() => {
            counts.push(writes.count);
            response.end();
          });
        }, 20);
      },
      { keepAliveMs: 1_000 },
    );
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const bodies = await Promise.all([get(url), get(url), get(url)]);
    expect(bodies).toEqual(["start;a;b;c;", "start;a;b;c;", "start;a;b;c;"]);
    expect(counts).toEqual([1, 1, 1]);
  });
});
