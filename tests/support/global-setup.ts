import pg from 'pg';
import { TEST_DATABASE_URL } from './test-database.js';

/**
 * The suite runs on real servers. When PostgreSQL does not answer, every test that needs it would
 * fail one by one; fail once, loudly, with what to do instead. Never skip.
 */
export default async function checkServers(): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5_000 });
  try {
    await client.connect();
    await client.query('select 1');
  } catch (error) {
    throw new Error(
      `The tests need PostgreSQL at ${TEST_DATABASE_URL} (set TEST_DATABASE_URL to use another): ${String(error)}`,
    );
  } finally {
    await client.end().catch(() => {});
  }
}
