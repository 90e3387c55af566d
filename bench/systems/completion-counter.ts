import { sql } from 'kysely';
import { createDatabase } from '../../src/store/database.js';
import type { BenchEnvironment } from '../lib/environment.js';

/** Counts a jobql deployment's SUCCEEDED tasks over a connection of the bench's own. */
export function openCompletionCounter(env: BenchEnvironment, schema: string): { count(): Promise<number>; close(): Promise<void> } {
  const db = createDatabase({ connectionString: env.databaseUrl, schema, maxConnections: 1 });
  return {
    async count() {
      const { rows } = await sql<{ n: string }>`select count(*) as n from tasks where status = 'SUCCEEDED'`.execute(db);
      return Number(rows[0]?.n ?? 0);
    },
    close: () => db.destroy(),
  };
}
