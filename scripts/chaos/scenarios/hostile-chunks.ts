// Malformed or hostile chunks mixed into ordinary answers: NUL, lone
// surrogates, huge deltas, unknown chunk types, invalid JSON. Promise: one typed
// terminal event per client, the user turn stored, the answer stored (with NUL
// and lone surrogates as U+FFFD) or, when the turn fails, stored and marked.
import { startFakeStreamer, turnHead, turnTail } from "../../../test/support/fake-streamer.ts";
import { startGateway } from "../gateway.ts";
import { measure, type Row } from "../measure.ts";
import { startTurn, type ClientTurn } from "../turn.ts";
import { inBatches, type Scale } from "./scale.ts";

const delta = (text: string) => ({ type: "text-delta", id: "t1", delta: text });

const HOSTILE: (() => object | string)[] = [
  () => delta("nul\u0000byte "),
  () => delta("lone \uD800 high "),
  () => delta("lone \uDC00 low "),
  () => delta("x".repeat(16_384)),
  () => ({ type: "x-unknown-chunk", payload: { nested: [1, 2, 3] } }),
  () => ({ type: "text-delta" }),
  () => "{not json",
  () => '{"type":"text-delta","id":"t1","delta":',
  () => delta("plain words "),
];

export function hostileChunk(): object | string {
  return HOSTILE[Math.floor(Math.random() * HOSTILE.length)]!();
}

export async function hostileChunks(scale: Scale): Promise<Row> {
  const fake = await startFakeStreamer(async (call) => {
    call.startStream();
    for (const chunk of turnHead()) call.send(chunk);
    for (let i = 0; i < scale.hostileChunksPerTurn; i++) {
      if (!call.send(hostileChunk())) return;
      if (i % 20 === 19) await call.pause(1);
    }
    for (const chunk of turnTail()) call.send(chunk);
    call.done();
  });
  const gateway = await startGateway({ STREAMER_URL: fake.url });
  try {
    const turns: ClientTurn[] = [];
    await inBatches(scale.hostileTurns, 5, async () => {
      const turn = startTurn(gateway.url, await gateway.newToken());
      turns.push(turn);
      await turn.done;
    });
    const chunks = scale.hostileTurns * scale.hostileChunksPerTurn;
    return await measure(`${chunks} hostile chunks over ${scale.hostileTurns} turns`, gateway.database.url!, turns);
  } finally {
    await gateway.close();
    await fake.close();
  }
}
