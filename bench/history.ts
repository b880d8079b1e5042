// A live deployment's database is not empty, and its tables have statistics.
// A fresh one is both: PostgreSQL plans the turn's statements for empty
// tables (sequential scans), and each pooled connection keeps those plans
// while the run fills the tables, until autovacuum analyzes them (once a
// minute at most). The bench would then measure scans no deployment makes.
// So before a gateway's first turn its database gets a history of other
// users' chats (BENCH_HISTORY_CHATS, 4 messages each; 0: none) and is analyzed.
import pg from "pg";

const seeded = new Set<string>();

/** Seeds the database behind `databaseUrl` once per run (a PostgreSQL one; PGlite is left as it is). */
export async function seedHistory(databaseUrl: string | undefined, chats: number): Promise<void> {
  if (!databaseUrl || chats === 0 || seeded.has(databaseUrl)) return;
  seeded.add(databaseUrl);
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    await client.query("SET statement_timeout = 120000");
    await client.query(HISTORY, [chats]);
    await client.query("ANALYZE");
  } finally {
    await client.end();
  }
}

// 1 user for 10 chats; each chat a user message and an answer, twice, over
// the last day (so the quota's ledger holds them too), and its ended Stream rows.
const HISTORY = `
WITH users AS (
  INSERT INTO "User" (id, type, "createdAt")
  SELECT 'bench-history-' || u, 'regular', now() AT TIME ZONE 'UTC' - interval '2 days'
    FROM generate_series(0, ($1::int - 1) / 10) u
), chats AS (
  INSERT INTO "Chat" (id, "userId", title, visibility, "createdAt")
  SELECT gen_random_uuid(), 'bench-history-' || (c / 10), 'An earlier chat', 'private',
         now() AT TIME ZONE 'UTC' - interval '1 day' + make_interval(secs => c)
    FROM generate_series(0, $1::int - 1) c
  RETURNING id, "userId", "createdAt"
), messages AS (
  INSERT INTO "Message" (id, "chatId", "userId", role, parts, status, "createdAt")
  SELECT gen_random_uuid(), chats.id, chats."userId",
         (CASE WHEN m % 2 = 0 THEN 'user' ELSE 'assistant' END)::"MessageRole",
         jsonb_build_array(jsonb_build_object('type', 'text', 'text', 'An earlier message of this chat.')),
         'complete', chats."createdAt" + make_interval(secs => m)
    FROM chats, generate_series(0, 3) m
  RETURNING id, "chatId", "createdAt", role
)
INSERT INTO "Stream" (id, "chatId", "createdAt", status, "assistantMessageId")
SELECT gen_random_uuid(), "chatId", "createdAt", 'finished', id FROM messages WHERE role = 'assistant'`;
