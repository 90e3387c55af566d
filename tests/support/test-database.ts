import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { LogEvent } from 'kysely';
import { createDatabase, type Db } from '../../src/store/database.js';
import { ensureSchema, migrateToLatest } from '../../src/store/migrator.js';

/** The machine's PostgreSQL, database `test`: each test file works in a schema of its own. */
export const TEST_DATABASE_URL = process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export function newSchemaName(prefix = 't'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

export interface TestDatabase {
  readonly db: Db;
  readonly schema: string;
  drop(): Promise<void>;
}

/** A fresh, migrated schema; `drop()` destroys the pool and the schema. */
export async function createTestDatabase(options: { onQuery?: (event: LogEvent) => void; migrate?: boolean } = {}): Promise<TestDatabase> {
  const schema = newSchemaName();
  const db = createDatabase({ connectionString: TEST_DATABASE_URL, schema, ...(options.onQuery ? { onQuery: options.onQuery } : {}) });
  await ensureSchema(db, schema);
  if (options.migrate ?? true) await migrateToLatest(db, schema);
  return {
    db,
    schema,
    async drop() {
      await db.destroy();
      await dropSchema(schema);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

/** Row counts of every table, to prove that refused input wrote nothing. */
export async function rowCounts(db: Db): Promise<Record<string, number>> {
  const [jobs, tasks, attempts, events] = await Promise.all([
    db.selectFrom('jobs').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('tasks').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('taskAttempts').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
    db.selectFrom('jobEvents').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow(),
  ]);
  return { jobs: Number(jobs.n), tasks: Number(tasks.n), attempts: Number(attempts.n), events: Number(events.n) };
}
