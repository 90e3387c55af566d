/** Puts loaded rows back in the order of the keys a DataLoader asked for; a missing row is null. */
export function inKeyOrder<T extends { id: string }>(keys: readonly string[], rows: readonly T[]): (T | null)[] {
  const byId = new Map(rows.map((row) => [row.id, row]));
  return keys.map((key) => byId.get(key) ?? null);
}
