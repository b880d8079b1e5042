// The shape every "X fails mid-turn" scenario shares: a few turns stream a long
// answer slowly; once each client holds some deltas the fault hits; the clients
// read to their end (bounded); the fault heals; the database is measured.
import {
  respond,
  startFakeStreamer,
  textDeltas,
  turnHead,
  turnTail,
  type FakeStreamer,
} from "../../../test/support/fake-streamer.ts";
import type { ChaosGateway } from "../gateway.ts";
import { startTurn, type ClientTurn } from "../turn.ts";

const TEXT = "Streamed before the fault, kept after it. ".repeat(60);

/** A streamer whose answers take about 10 s (a delta every 20 ms). */
export function slowStreamer(): Promise<FakeStreamer> {
  return startFakeStreamer(
    respond([...turnHead(), ...textDeltas("t1", TEXT, 5).flatMap((c) => [c, { delayMs: 20 }]), ...turnTail()]),
  );
}

export async function faultMidTurn(
  gateway: Pick<ChaosGateway, "url" | "newToken">,
  count: number,
  fault: () => Promise<void> | void,
  readBoundMs = 30_000,
): Promise<ClientTurn[]> {
  const turns: ClientTurn[] = [];
  for (let i = 0; i < count; i++) turns.push(startTurn(gateway.url, await gateway.newToken(), readBoundMs));
  await Promise.all(turns.map((turn) => turn.reached(10)));
  await fault();
  await Promise.all(turns.map((turn) => turn.done));
  return turns;
}
