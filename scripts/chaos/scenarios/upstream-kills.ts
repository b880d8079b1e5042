// The streamer's connection dies at a random point of the answer (before the
// head, mid-deltas, just before finish). Promise: one typed terminal event per
// client, the user turn stored, what was streamed stored and marked FAILED.
import { startFakeStreamer, textDeltas, turnHead } from "../../../test/support/fake-streamer.ts";
import { startGateway } from "../gateway.ts";
import { measure, type Row } from "../measure.ts";
import { startTurn, type ClientTurn } from "../turn.ts";
import { inBatches, type Scale } from "./scale.ts";

const TEXT = "Every delta before the cut must be kept. ".repeat(20);

export async function upstreamKills(scale: Scale): Promise<Row> {
  const fake = await startFakeStreamer(async (call) => {
    const cut = Math.floor(Math.random() * 120) - 10;
    if (cut < 0) return call.destroy();
    call.startStream();
    const chunks = [...turnHead(), ...textDeltas("t1", TEXT, 5)].slice(0, cut);
    for (const [i, chunk] of chunks.entries()) {
      if (!call.send(chunk)) return;
      if (i % 10 === 9) await call.pause(2);
    }
    await call.pause(20);
    call.destroy();
  });
  const gateway = await startGateway({ STREAMER_URL: fake.url });
  try {
    const turns: ClientTurn[] = [];
    await inBatches(scale.upstreamKills, 10, async () => {
      const turn = startTurn(gateway.url, await gateway.newToken());
      turns.push(turn);
      await turn.done;
    });
    return await measure(`${scale.upstreamKills} upstream kills at random offsets`, gateway.database.url!, turns);
  } finally {
    await gateway.close();
    await fake.close();
  }
}
