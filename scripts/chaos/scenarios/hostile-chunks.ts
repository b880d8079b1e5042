// Malformed or hostile chunks as answers: NUL, lone surrogates, huge deltas,
// unknown chunk types, and (ending every fifth turn) invalid JSON. Promise: one
// typed terminal event per client, the user turn stored, the answer stored
// (NUL and lone surrogates as U+FFFD) or, when the turn fails, stored and marked.
import { startFakeStreamer, turnHead, turnTail } from "../../../test/support/fake-streamer.ts";
import { startGateway } from "../gateway.ts";
import { measure, type Row } from "../measure.ts";
import { startTurn, type ClientTurn } from "../turn.ts";
import { inBatches, type Scale } from "./scale.ts";

const delta = (text: string) => ({ type: "text-delta", id: "t1", delta: text });

/** Chunks a turn must survive (stored with U+FFFD for what PostgreSQL refuses, or skipped). */
const SURVIVABLE: (() => object | string)[] = [
  () => delta("nul\u0000byte "),
  () => delta("lone \uD800 high "),
  () => delta("lone \uDC00 low "),
  () => delta("x".repeat(16_384)),
  () => ({ type: "x-unknown-chunk", payload: { nested: [1, 2, 3] } }),
  () => delta("plain words "),
];

/** Chunks that end a turn (StreamFailed, the partial stored): one ends every fifth turn. */
const FATAL = ["{not json", '{"type":"text-delta","id":"t1","delta":', JSON.stringify({ type: "text-delta" })];

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)]!;

export async function hostileChunks(scale: Scale): Promise<Row> {
  let calls = 0;
  let sent = 0;
  const fake = await startFakeStreamer(async (call) => {
    const fatal = ++calls % 5 === 0;
    call.startStream();
    for (const chunk of turnHead()) call.send(chunk);
    for (let i = 0; i < scale.hostileChunksPerTurn; i++) {
      const last = fatal && i === scale.hostileChunksPerTurn - 1;
      if (!call.send(last ? pick(FATAL) : pick(SURVIVABLE)())) return;
      sent++;
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
    return await measure(
      `${sent} hostile chunks over ${scale.hostileTurns} turns (every 5th ends in invalid JSON)`,
      gateway.database.url!,
      turns,
    );
  } finally {
    await gateway.close();
    await fake.close();
  }
}
