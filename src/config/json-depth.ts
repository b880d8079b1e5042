/**
 * How deep arrays and objects may nest in JSON the gateway stores (message
 * parts, a streamer's chunks). Real parts nest a few levels; Prisma refuses
 * a `jsonb` value past about 128 (a database error, which raises an alert),
 * and code that walks a value recursively overflows the stack long before
 * the nesting a request body of a few MB can carry.
 */
export const MAX_JSON_DEPTH = 64;

/**
 * Whether `value` nests arrays and objects more than `maxDepth` levels deep
 * (`{}` and `[1]` are one level, `{ a: [] }` two). Walks with a stack of its
 * own, so no value overflows the call stack here, and stops at the first
 * container past the bound.
 */
export function nestsDeeperThan(value: unknown, maxDepth: number = MAX_JSON_DEPTH): boolean {
  if (typeof value !== "object" || value === null) return false;
  const containers: object[] = [value];
  const depths: number[] = [1];
  while (containers.length > 0) {
    const container = containers.pop() as Record<string, unknown>;
    const depth = depths.pop()!;
    if (depth > maxDepth) return true;
    for (const key in container) {
      const item = container[key];
      if (typeof item === "object" && item !== null) {
        containers.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}
