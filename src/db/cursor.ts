/** Opaque page cursors over a (createdAt, id) order. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: Cursor): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");
}

// What encodeCursor writes: a time of years 0001-9999 (PostgreSQL's timestamps have
// no year 0, and six-digit years are beyond what is stored), and a row's UUID.
const ISO_TIME = /^(?!0000)\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Null when the text is not a cursor this gateway issued (so no forged one reaches the database). */
export function decodeCursor(text: string): Cursor | null {
  const [iso, id, ...rest] = Buffer.from(text, "base64url").toString("utf8").split("|");
  if (!iso || !id || rest.length > 0 || !ISO_TIME.test(iso) || !UUID.test(id)) return null;
  const createdAt = new Date(iso);
  if (Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== iso) return null;
  return { createdAt, id };
}

/** Rows strictly after the cursor in ascending (createdAt, id) order, or before it in descending. */
export function afterCursor(cursor: Cursor, direction: "asc" | "desc") {
  const op = direction === "asc" ? "gt" : "lt";
  return {
    OR: [{ createdAt: { [op]: cursor.createdAt } }, { createdAt: cursor.createdAt, id: { [op]: cursor.id } }],
  };
}
