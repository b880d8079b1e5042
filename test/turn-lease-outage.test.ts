// A database outage keeps every owner from renewing its turns' leases, the
// live ones too: an instance that saw the database not answer does not take
// the others' turns for dead the moment it answers again, but a full lease
// later, when a live owner has renewed (and a dead one still has not).
import { afterAll, beforeAll, expect, it } from "vitest";
import { setLogLevel } from "../src/log.ts";
import { TurnLeases } from "../src/turn/lease.ts";
import { MemoryTurnLog } from "../src/turn/memory-turn-log.ts";
import { createTestDatabase, type TestDatabase } from "./support/database.ts";
import { insertUser } from "./support/fixtures.ts";
import { eventually } from "./support/sse.ts";
import { beginStoredTurn, switchable } from "./support/turn-rows.ts";

let database: TestDatabase;
beforeAll(async () => {
  setLogLevel("silent");
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

it("waits a full lease after the database answers again before it takes another instance's turn", async () => {
  const { db } = database;
  const user = await insertUser(db.prisma);
  const { streamId } = await beginStoredTurn(db, user.id, "the-other-instance");
  const stream = () => db.prisma.stream.findUniqueOrThrow({ where: { id: streamId } });

  const link = switchable(db);
  const sweeper = new TurnLeases(link.db, new MemoryTurnLog({ retentionMs: 60_000 }), {
    ownerId: "the-sweeping-instance",
    leaseSeconds: 3,
    running: () => [],
    onStop: () => {},
  });
  link.state.down = true;
  await sweeper.start({ recoverNow: false });
  try {
    // Down for longer than a lease: the other instance's lease has lapsed meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 3_500));
    link.state.down = false;
    // The sweep runs every second (a third of the lease): it has run since, and left the turn to its owner,
    // whose lease the sweep counts from its own last failure (at most a second before this) on.
    await new Promise((resolve) => setTimeout(resolve, 1_300));
    expect(await stream()).toMatchObject({ status: "active", ownerId: "the-other-instance" });
    // Its owner never renewed: it is dead, and the turn is recovered.
    await eventually(async () => (await stream()).status === "failed", 8_000);
    expect((await stream()).ownerId).toBe("the-sweeping-instance");
  } finally {
    await sweeper.stop();
  }
}, 20_000);
