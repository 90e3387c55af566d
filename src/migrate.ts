import pino from 'pino';
import { loadConfig } from './config.js';
import { startEmbeddedPostgres } from './embedded/embedded-postgres.js';
import { createDatabase } from './store/database.js';
import { ensureSchema, migrateToLatest } from './store/migrator.js';
import path from 'node:path';

/** `npm run migrate`: brings the database (DATABASE_URL, or the embedded one) to the latest schema. */
const config = loadConfig();
const logger = pino({ level: config.LOG_LEVEL });
const embedded = config.DATABASE_URL
  ? undefined
  : await startEmbeddedPostgres({ dataDir: path.resolve(config.DATA_DIR), port: config.EMBEDDED_PG_PORT, log: (m) => logger.info(m) });
const connectionString = config.DATABASE_URL ?? embedded?.connectionString ?? '';
const db = createDatabase({ connectionString, ...(config.DATABASE_SCHEMA ? { schema: config.DATABASE_SCHEMA } : {}) });
try {
  if (config.DATABASE_SCHEMA) await ensureSchema(db, config.DATABASE_SCHEMA);
  await migrateToLatest(db, config.DATABASE_SCHEMA);
  logger.info('database is at the latest migration');
} finally {
  await db.destroy();
  await embedded?.stop();
}
