// Message metadata merged as the ai package merges it (processUIMessageStream's
// mergeObjects, which it does not export): the quick fold and the turn's usage
// report both follow it, so what a client folds and what the gateway reports agree.

/** `overrides` deep-merged into `base`, as the ai package's mergeObjects does for two plain objects. */
export function mergeObjects(
  base: Record<string, unknown>,
  overrides: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...base };
  for (const key in overrides) {
    if (key === "__proto__" || key === "constructor" || key === "prototype") continue;
    if (!Object.hasOwn(overrides, key)) continue;
    const value = overrides[key];
    if (value === undefined) continue;
    const current = key in base ? base[key] : undefined;
    result[key] = isPlainObject(value) && isPlainObject(current) ? mergeObjects(current, value) : value;
  }
  return result;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    value !== null &&
    typeof value === "object" &&
    !Array.isArray(value) &&
    !(value instanceof Date) &&
    !(value instanceof RegExp)
  );
}
