/** The largest PostgreSQL `integer`, the type of task positions and event numbers: no larger one names a row. */
export const MAX_STORED_INTEGER = 2 ** 31 - 1;
