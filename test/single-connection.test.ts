import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { closeGateway, failOnUnhandledRejections } from "./support/fixtures.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import { singleConnectionClient } from "./support/single-connection.ts";
import { sendInput, subscribeWithClient } from "./support/sse.ts";

failOnUnhandledRejections();

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ LOG_LEVEL: "error" });
});
afterAll(() => closeGateway(gateway));

describe("explore", () => {
  it("turn", async () => {
    const token = await gateway.tokenFor({ id: "u1" });
    const c = singleConnectionClient([gateway.url], { token });
    const one = await c.turn(sendInput("[plain] hello"));
    console.log(JSON.stringify(one).slice(0, 2000));
    const two = await c.turn(sendInput("[plain] hello again"));
    console.log(
      two.events.map((e) => e.__typename),
      c.requests,
    );
    const deep = await c.run(`query { ${"a1: me { id } ".repeat(20)} }`);
    console.log(JSON.stringify(deep));
    const distinctDeep = await subscribeWithClient(
      gateway.url,
      {},
      { token, query: `query { ${"a1: me { id } ".repeat(20)} }` },
    );
    console.log(JSON.stringify(distinctDeep));
    const anon = singleConnectionClient([gateway.url]);
    const refused = await anon.turn(sendInput("[plain] hello"));
    console.log(JSON.stringify(refused), anon.requests);
    c.client.dispose();
  });
});
