// What a scenario's turns came to: what each client saw against what the
// database holds (read directly, not through the gateway under test).
import pg from "pg";
import { TERMINAL_TYPES } from "../../test/support/sse.ts";
import type { ClientTurn } from "./turn.ts";

export interface Row {
  scenario: string;
  attempted: number;
  oneTerminal: number;
  userStored: number;
  /** Turns that did not finish with some answer streamed, and of those the ones stored FAILED or ABORTED. */
  unfinished: number;
  partialMarked: number;
  /** UTF-8 bytes of answer text the clients saw that the stored answers lack. */
  bytesLost: number;
  terminalMs: number[];
  restarts: number;
  /** How the turns ended: terminal type and code, with counts. */
  endings: Record<string, number>;
}

interface Stored {
  userStored: boolean;
  status: string | null;
  text: string;
}

async function storedTurn(client: pg.Client, chatId: string): Promise<Stored> {
  const { rows } = await client.query<{ role: string; status: string; parts: { type?: string; text?: string }[] }>(
    `SELECT role, status, parts FROM "Message" WHERE "chatId" = $1 ORDER BY "createdAt", id`,
    [chatId],
  );
  const assistant = rows.find((row) => row.role === "assistant");
  return {
    userStored: rows.some((row) => row.role === "user"),
    status: assistant?.status ?? null,
    text: (assistant?.parts ?? [])
      .filter((part) => part.type === "text")
      .map((part) => part.text ?? "")
      .join(""),
  };
}

const deltasSeen = (turn: ClientTurn) => turn.events.filter((event) => event.__typename === "TextDelta").length;

const answered = (turn: ClientTurn) =>
  deltasSeen(turn) > 0 &&
  !turn.events.some((event) => event.__typename === "StreamFinished" || event.__typename === "StreamAborted");

/** What PostgreSQL can store of a text: NUL and lone surrogates become U+FFFD (as the gateway does). */
const storable = (text: string) => text.toWellFormed().replaceAll("\u0000", "\uFFFD");

function bytesLost(seen: string, stored: string): number {
  const want = storable(seen);
  let common = 0;
  while (common < want.length && want[common] === stored[common]) common++;
  return Buffer.byteLength(want.slice(common));
}

/** Waits (bounded) until no turn is still stored as streaming, then measures. */
export async function measure(
  scenario: string,
  databaseUrl: string,
  turns: ClientTurn[],
  options: { restarts?: number; settleMs?: number } = {},
): Promise<Row> {
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    const deadline = Date.now() + (options.settleMs ?? 20_000);
    let stored: Stored[];
    for (;;) {
      stored = [];
      for (const turn of turns) stored.push(await storedTurn(client, turn.chatId));
      // Settled: nothing still streaming, and every unfinished answer stored (a recovery may store it late).
      const settled = stored.every((s, i) => s.status !== "streaming" && (s.status !== null || !answered(turns[i]!)));
      if (settled || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const row: Row = {
      scenario,
      attempted: turns.length,
      oneTerminal: 0,
      userStored: 0,
      unfinished: 0,
      partialMarked: 0,
      bytesLost: 0,
      terminalMs: [],
      restarts: options.restarts ?? 0,
      endings: {},
    };
    const unmarked: string[] = [];
    turns.forEach((turn, i) => {
      const s = stored[i]!;
      const terminals = turn.events.filter((event) => TERMINAL_TYPES.includes(event.__typename));
      if (terminals.length === 1) row.oneTerminal++;
      const ending =
        terminals.length === 0
          ? "none"
          : terminals.map((t) => (t.code ? `${t.__typename} ${t.code}` : t.__typename)).join("+");
      row.endings[ending] = (row.endings[ending] ?? 0) + 1;
      if (s.userStored) row.userStored++;
      // The contract stores a FAILED/ABORTED answer "when any was received".
      if (terminals[0]?.__typename !== "StreamFinished" && (deltasSeen(turn) > 0 || s.status !== null)) {
        row.unfinished++;
        if (s.status === "failed" || s.status === "aborted") row.partialMarked++;
        else
          unmarked.push(
            `${terminals[0]?.__typename ?? "no terminal"}/${terminals[0]?.code ?? "-"} stored=${s.status ?? "none"} deltas=${deltasSeen(turn)}`,
          );
      }
      if (terminals[0]?.__typename === "StreamFinished" && s.status !== "complete") {
        unmarked.push(`StreamFinished stored=${s.status ?? "none"} (a finished turn must be stored complete)`);
      }
      const seen = turn.events
        .filter((event) => event.__typename === "TextDelta")
        .map((event) => event.delta)
        .join("");
      row.bytesLost += bytesLost(seen, s.text);
      if (turn.terminalMs !== undefined) row.terminalMs.push(turn.terminalMs);
    });
    if (unmarked.length > 0)
      console.error(`chaos: ${scenario}: turns stored other than promised:\n  ${unmarked.join("\n  ")}`);
    return row;
  } finally {
    await client.end();
  }
}
