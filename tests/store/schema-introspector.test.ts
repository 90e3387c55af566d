import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PostgresIntrospector, type DatabaseIntrospector } from 'kysely';
import { createTestDatabase, dropSchema, newSchemaName, TEST_DATABASE_URL, type TestDatabase } from '../support/test-database.js';
import { migrateToLatest } from '../../src/store/migrator.js';
import { createDatabase } from '../../src/store/database.js';

/** Creates and drops schemas full of tables on a connection of its own until told to stop. */
function churnSchemas(): { stop(): Promise<number> } {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
  let running = true;
  let dropped = 0;
  const loop = (async () => {
    await client.connect();
    while (running) {
      const schema = newSchemaName('churn');
      const tables = Array.from({ length: 30 }, (_, i) => `create table "${schema}".t${i} (id serial primary key, v text);`).join('');
      await client.query(`create schema "${schema}"; ${tables}`);
      await client.query(`drop schema "${schema}" cascade`);
      dropped += 1;
    }
    await client.end();
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return dropped;
    },
  };
}

async function readTablesWhileChurning(introspector: DatabaseIntrospector, reads: number): Promise<Error | undefined> {
  const churn = churnSchemas();
  try {
    for (let i = 0; i < reads; i += 1) await introspector.getTables({ withInternalKyselyTables: true });
    return undefined;
  } catch (error) {
    return error as Error;
  } finally {
    expect(await churn.stop()).toBeGreaterThan(0);
  }
}

describe('the introspector the migrator uses', () => {
  let database: TestDatabase;
  let other: TestDatabase;

  beforeAll(async () => {
    database = await createTestDatabase();
    other = await createTestDatabase();
  });

  afterAll(async () => {
    await database?.drop();
    await other?.drop();
  });

  it("lists its own schema's tables with their columns and no other schema's", async () => {
    const tables = await database.db.introspection.getTables({ withInternalKyselyTables: true });
    expect(new Set(tables.map((t) => t.schema))).toEqual(new Set([database.schema]));
    const names = tables.map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['jobs', 'tasks', 'task_attempts', 'job_events', 'kysely_migration']));
    const jobs = tables.find((t) => t.name === 'jobs');
    expect(jobs?.columns.find((c) => c.name === 'id')).toMatchObject({ hasDefaultValue: true, isNullable: false });
    expect(jobs?.columns.find((c) => c.name === 'finished_at')).toMatchObject({ dataType: 'timestamptz', isNullable: true });
    const withoutInternal = await database.db.introspection.getTables();
    expect(withoutInternal.map((t) => t.name)).not.toContain('kysely_migration');
  });

  // Kysely's stock introspector resolves every schema by name and fails when one is dropped under
  // it; the race is not certain to be hit, so this side only shows the hazard when it shows.
  it('reads its tables while other schemas are created and dropped, where the stock one can fail', async () => {
    expect(await readTablesWhileChurning(database.db.introspection, 150)).toBeUndefined();
    const stock = await readTablesWhileChurning(new PostgresIntrospector(database.db), 150);
    console.log(`[introspector] stock introspector under schema churn: ${stock ? `failed: ${stock.message}` : 'did not fail this time'}`);
  });

  it('migrates a fresh schema while other schemas are dropped', async () => {
    const schema = newSchemaName('mig');
    const churn = churnSchemas();
    try {
      const db = createDatabase({ connectionString: TEST_DATABASE_URL, schema });
      try {
        await db.schema.createSchema(schema).execute();
        await migrateToLatest(db, schema);
        const tables = await db.introspection.getTables();
        expect(tables.map((t) => t.name)).toContain('jobs');
      } finally {
        await db.destroy();
      }
    } finally {
      await churn.stop();
      await dropSchema(schema);
    }
  });
});
