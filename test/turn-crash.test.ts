// A crash loses nothing that was streamed: the gateway process running a turn is
// SIGKILLed mid-answer. With Redis (and PostgreSQL), another instance stores the
// turn FAILED with every part streamed, within 30 s, and its resumers get
// StreamFailed; embedded (PGlite), the restarted gateway stores the turn FAILED
// with its last checkpoint, and the earlier chats are intact.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { signUserToken } from "../src/auth/user-token.ts";
import { parseEnv } from "../src/config/env.ts";
import { closeGateway, expectOk, newUser } from "./support/fixtures.ts";
import { respond, textDeltas, turnHead, turnTail, slowTextTurn } from "./support/fake-streamer.ts";
import { startGatewayProcess, type GatewayProcess } from "./support/gateway-process.ts";
import { startTestGateway, type TestGateway } from "./support/gateway.ts";
import {
  CHAT_WITH_MESSAGES,
  eventually,
  RESUME_STREAM,
  sendInput,
  subscribeWithFetch,
  type StreamEvent,
  streamedText,
} from "./support/sse.ts";
import { useFakeStreamer } from "./support/file-hooks.ts";

const redisUrl = process.env.REDIS_URL;
const onPostgres = Boolean(process.env.DATABASE_URL);
const TEXT = "Every word streamed before the crash is kept. ".repeat(200);
// Far longer than any test waits: a delta every 20 ms.
const endless = respond(slowTextTurn(TEXT, 20));

const fake = useFakeStreamer(endless);

const token = (user: { id: string }) =>
  signUserToken(parseEnv({}), { id: user.id, type: "regular", email: null }, 3600);
const partsText = (parts: { __typename?: string; type?: string; text?: string }[]) =>
  parts
    .filter((p) => p.__typename === "TextPart" || p.type === "text")
    .map((p) => p.text)
    .join("");

async function chatQuery(url: string, chatId: string, bearer: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify({ query: CHAT_WITH_MESSAGES, variables: { id: chatId } }),
  });
  return expectOk((await response.json()) as any).chat;
}

/** Sends a turn to `url` and resolves once `deltas` text deltas arrived (the turn goes on). */
function sendUntil(url: string, bearer: string, deltas: number, variables = sendInput("Tell me everything.")) {
  const controller = new AbortController();
  const seen: StreamEvent[] = [];
  return new Promise<{ chatId: string; seen: StreamEvent[]; leave: () => void }>((resolve, reject) => {
    subscribeWithFetch(url, variables, {
      token: bearer,
      signal: controller.signal,
      onEvent: (event, all) => {
        seen.push(event);
        if (all.filter((e) => e.__typename === "TextDelta").length === deltas) {
          resolve({ chatId: variables.input.chatId, seen, leave: () => controller.abort() });
        }
      },
    }).catch(reject);
  });
}

describe.skipIf(!redisUrl || !onPostgres)("SIGKILL of the instance running a turn (Redis, PostgreSQL)", () => {
  let survivor: TestGateway;
  let doomed: GatewayProcess | undefined;
  beforeAll(async () => {
    survivor = await startTestGateway({ STREAMER_URL: fake.url, REDIS_URL: redisUrl!, TURN_LEASE_SECONDS: "3" });
  });
  afterAll(async () => {
    await doomed?.kill("SIGKILL");
    await closeGateway(survivor);
  });

  it("another instance stores the turn FAILED with every part streamed, resumers get StreamFailed, the chat goes on", async () => {
    doomed = await startGatewayProcess({
      env: {
        DATABASE_URL: survivor.database.url!,
        REDIS_URL: redisUrl!,
        STREAMER_URL: fake.url,
        TURN_LEASE_SECONDS: "3",
        // One process, so SIGKILL to it is the instance crashing (with PostgreSQL and Redis it would default to one per core).
        WORKERS: "1",
      },
    });
    const user = newUser();
    const bearer = await token(user);
    const sent = await sendUntil(doomed.url, bearer, 20);
    const resumer = subscribeWithFetch(
      survivor.url,
      { chatId: sent.chatId, afterSeq: null },
      { token: bearer, query: RESUME_STREAM },
    );
    // The resumer is reading live (it has caught up with what the sender saw) before the crash.
    await eventually(async () => (await chatQuery(survivor.url, sent.chatId, bearer)).messages.edges.length === 2);
    await doomed.kill("SIGKILL");
    const killedAt = Date.now();
    sent.leave();

    const resumed = await resumer;
    expect(Date.now() - killedAt).toBeLessThan(30_000);
    expect(resumed.completed).toBe(true);
    const failed = resumed.events.at(-1)!;
    expect(failed).toMatchObject({
      __typename: "StreamFailed",
      code: "offline:chat",
      partialMessage: { status: "FAILED" },
    });
    expect(resumed.events.map((e) => e.seq)).toEqual(resumed.events.map((_, i) => i));
    expect(resumed.events.slice(0, sent.seen.length)).toEqual(sent.seen);
    // Every part streamed: what the resumer saw, all of it stored.
    const streamed = streamedText(resumed.events);
    expect(streamed.startsWith(streamedText(sent.seen))).toBe(true);
    expect(partsText(failed.partialMessage.parts)).toBe(streamed);

    const chat = await chatQuery(survivor.url, sent.chatId, bearer);
    expect(chat.messages.edges.map((edge: any) => [edge.node.role, edge.node.status])).toEqual([
      ["USER", "COMPLETE"],
      ["ASSISTANT", "FAILED"],
    ]);
    const stream = await survivor.database.db.prisma.stream.findFirstOrThrow({ where: { chatId: sent.chatId } });
    expect(stream.status).toBe("failed");

    // The chat takes a new turn.
    fake.handle(respond([...turnHead(), ...textDeltas("t1", "Back again."), ...turnTail()]));
    try {
      const next = await subscribeWithFetch(survivor.url, sendInput("Again?", { chatId: sent.chatId }), {
        token: bearer,
      });
      expect(next.events.at(-1)).toMatchObject({ __typename: "StreamFinished" });
    } finally {
      fake.handle(endless);
    }
  }, 180_000);
});

describe.skipIf(onPostgres)(
  "SIGKILL of the embedded gateway mid-turn, then a restart on the same data directory",
  () => {
    const dataDir = mkdtempSync(join(tmpdir(), "gw-crash-"));
    const env = { DATA_DIR: dataDir, TURN_CHECKPOINT_MS: "300" };
    let gateway: GatewayProcess | undefined;
    afterAll(async () => {
      await gateway?.kill("SIGKILL");
      rmSync(dataDir, { recursive: true, force: true });
    });

    it("keeps the earlier chats, stores the turn FAILED with its checkpointed prefix, and ends its resumers with StreamFailed", async () => {
      gateway = await startGatewayProcess({ env: { ...env, STREAMER_URL: fake.url } });
      const bearer = await token(newUser());

      fake.handle(respond([...turnHead(), ...textDeltas("t1", "An earlier answer."), ...turnTail()]));
      const earlier = sendInput("An earlier question.");
      try {
        await subscribeWithFetch(gateway.url, earlier, { token: bearer });
      } finally {
        fake.handle(endless);
      }

      const sent = await sendUntil(gateway.url, bearer, 5);
      const checkpointed = await eventually(async () => {
        const chat = await chatQuery(gateway!.url, sent.chatId, bearer);
        const answer = chat.messages.edges[1]?.node;
        const text = answer ? partsText(answer.parts) : "";
        return answer?.status === "STREAMING" && text.length >= streamedText(sent.seen).length && text;
      }, 10_000);
      await gateway.kill("SIGKILL");
      sent.leave();

      gateway = await startGatewayProcess({ env: { ...env, STREAMER_URL: fake.url } });
      const before = await chatQuery(gateway.url, earlier.input.chatId, bearer);
      expect(
        before.messages.edges.map((edge: any) => [edge.node.role, edge.node.status, partsText(edge.node.parts)]),
      ).toEqual([
        ["USER", "COMPLETE", "An earlier question."],
        ["ASSISTANT", "COMPLETE", "An earlier answer."],
      ]);
      const chat = await chatQuery(gateway.url, sent.chatId, bearer);
      const answer = chat.messages.edges[1].node;
      expect(answer.status).toBe("FAILED");
      // The last checkpoint: at least the one the test read, a prefix of the answer.
      expect(partsText(answer.parts).startsWith(checkpointed)).toBe(true);
      expect(TEXT.startsWith(partsText(answer.parts))).toBe(true);
      // The events died with the process; its resumers get the recovery's terminal event,
      // as the next seq of whatever they hold, carrying the stored answer; one from the
      // start gets the turn's StreamStarted first, as every stream begins.
      const held = sent.seen.at(-1)!.seq;
      for (const afterSeq of [null, held]) {
        const resumed = await subscribeWithFetch(
          gateway.url,
          { chatId: sent.chatId, afterSeq },
          { token: bearer, query: RESUME_STREAM },
        );
        expect(resumed.completed).toBe(true);
        expect(resumed.events.map((event) => event.__typename)).toEqual(
          afterSeq === null ? ["StreamStarted", "StreamFailed"] : ["StreamFailed"],
        );
        if (afterSeq === null) expect(resumed.events[0]).toEqual(sent.seen[0]);
        expect(resumed.events.at(-1)).toMatchObject({
          __typename: "StreamFailed",
          seq: afterSeq === null ? 1 : held + 1,
          code: "offline:chat",
          partialMessage: { id: answer.id, status: "FAILED" },
        });
      }
    }, 300_000);
  },
);
