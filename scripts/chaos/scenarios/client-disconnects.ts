// The client goes away at a random point (a closed tab). Promise: the turn goes
// on and is stored complete; the client, resuming after its last seq, gets the
// rest and exactly one terminal event.
import { respond, textDeltas, turnHead, turnTail, startFakeStreamer } from "../../../test/support/fake-streamer.ts";
import { startGateway } from "../gateway.ts";
import { measure, type Row } from "../measure.ts";
import { resumeTurn, startTurn, type ClientTurn } from "../turn.ts";
import { inBatches, type Scale } from "./scale.ts";

const TEXT = "A turn outlives the tab that started it. ".repeat(10);
const DELTAS = textDeltas("t1", TEXT, 5);

export async function clientDisconnects(scale: Scale): Promise<Row> {
  const fake = await startFakeStreamer(
    respond([
      ...turnHead(),
      ...DELTAS.flatMap((chunk, i) => (i % 5 === 4 ? [chunk, { delayMs: 5 }] : [chunk])),
      ...turnTail(),
    ]),
  );
  const gateway = await startGateway({ STREAMER_URL: fake.url });
  try {
    const turns: ClientTurn[] = [];
    await inBatches(scale.clientDisconnects, 10, async () => {
      const turn = startTurn(gateway.url, await gateway.newToken());
      turns.push(turn);
      await turn.reached(1 + Math.floor(Math.random() * (DELTAS.length - 1)));
      turn.leave();
      await turn.done;
      if (turn.terminalMs === undefined) await resumeTurn(gateway.url, turn);
    });
    return await measure(
      `${scale.clientDisconnects} client disconnects at random points`,
      gateway.database.url!,
      turns,
    );
  } finally {
    await gateway.close();
    await fake.close();
  }
}
