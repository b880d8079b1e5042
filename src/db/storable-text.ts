/**
 * Whether PostgreSQL can store the string: neither `text` nor `jsonb` takes
 * U+0000, and a lone UTF-16 surrogate is not Unicode (jsonb refuses its escape).
 * Every string the gateway stores passes here (user input refused, streamer
 * text repaired, token claims refused), so none of them turns into
 * `bad_request:database` half-way through a write.
 */
export function isStorable(value: string): boolean {
  return value.isWellFormed() && !value.includes("\u0000");
}
