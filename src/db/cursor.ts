/** Opaque page cursors over a (createdAt, id) order. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(row: Cursor): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`).toString("base64url");
}

/** Null when the text is not a cursor this gateway issued. */
export function decodeCursor(text: string): Cursor | null {
  const [iso, id, ...rest] = Buffer.from(text, "base64url").toString("utf8").split("|");
  if (!iso || !id || rest.length > 0) return null;
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
