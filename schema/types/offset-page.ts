import { cursorToOffset, resolveOffsetConnection } from '@pothos/plugin-relay';
import { MAX_STORED_INTEGER } from '../../src/domain/stored-integer.js';
import { ValidationError } from '../../src/errors/index.js';

interface OffsetArgs {
  readonly after?: string | null | undefined;
  readonly before?: string | null | undefined;
  readonly first?: number | null | undefined;
  readonly last?: number | null | undefined;
}

/**
 * An offset connection (a job's tasks, its events) whose cursors are checked first: one that is
 * not this connection's, or names an offset no row can have (`NaN`, past the column's range),
 * is a ValidationError and reaches no statement.
 */
export function offsetPage<T>(args: OffsetArgs, load: (page: { offset: number; limit: number }) => Promise<readonly T[]>) {
  for (const argument of ['after', 'before'] as const) {
    const cursor = args[argument];
    if (cursor == null) continue;
    let offset: number;
    try {
      offset = cursorToOffset(cursor);
    } catch {
      offset = Number.NaN;
    }
    if (!Number.isSafeInteger(offset) || offset < 0 || offset > MAX_STORED_INTEGER) {
      throw ValidationError.field(argument, `"${cursor.slice(0, 60)}" is not a cursor of this connection`);
    }
  }
  return resolveOffsetConnection({ args }, load);
}
