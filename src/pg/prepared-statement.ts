import { sql } from 'kysely';
import { PREPARED_MARK } from './pg-pool.js';

/**
 * Starts a statement that is prepared once per connection and then runs without being parsed
 * and planned again (`${PREPARED} with …`; the pool's connections use generic plans at once, see
 * pg-pool.ts). For the hot statements of a batch, whose text never changes (their inputs are arrays
 * and JSON): planning one took about 1 ms of server CPU, more than running it.
 */
export const PREPARED = sql.raw(PREPARED_MARK);
