import { Migrator, sql, type MigrationResultSet } from 'kysely';
import { migrations } from '../../migrations/index.js';
import type { Db } from './database.js';

/**
 * `schema` is where the bookkeeping tables live: Kysely looks them up by name across every schema
 * of the database, so it must be told which one is ours (tests run many schemas side by side).
 */
export function createMigrator(db: Db, schema = 'public'): Migrator {
  return new Migrator({ db, provider: { getMigrations: async () => migrations }, migrationTableSchema: schema });
}

function assertSucceeded(result: MigrationResultSet): void {
  if (result.error) {
    const failed = result.results?.find((r) => r.status === 'Error');
    const where = failed ? ` in migration ${failed.migrationName}` : '';
    throw new Error(`database migration failed${where}: ${String(result.error)}`, { cause: result.error });
  }
}

export async function migrateToLatest(db: Db, schema?: string): Promise<void> {
  assertSucceeded(await createMigrator(db, schema).migrateToLatest());
}

/** The names of the migrations this build has that the database has not run. */
export async function pendingMigrations(db: Db, schema?: string): Promise<string[]> {
  return (await createMigrator(db, schema).getMigrations()).filter((migration) => migration.executedAt === undefined).map((migration) => migration.name);
}

export async function migrateDownAll(db: Db, schema?: string): Promise<void> {
  const migrator = createMigrator(db, schema);
  for (;;) {
    const result = await migrator.migrateDown();
    assertSucceeded(result);
    if (!result.results || result.results.length === 0) return;
  }
}

/** Creates the schema a deployment (or a test) asked to live in, before migrating into it. */
export async function ensureSchema(db: Db, schema: string): Promise<void> {
  await sql`create schema if not exists ${sql.id(schema)}`.execute(db);
}
