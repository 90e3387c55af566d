const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` has the shape of the store's ids; one that does not can name no row, and never reaches SQL. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
