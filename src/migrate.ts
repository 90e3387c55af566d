import pino from 'pino';
import { loadConfig } from './config.js';
import { openConfiguredDatabase } from './runtime/configured-database.js';

/** `npm run migrate`: brings the database (DATABASE_URL, or the embedded one) to the latest schema. */
const config = loadConfig();
const logger = pino({ level: config.LOG_LEVEL });
const { close } = await openConfiguredDatabase(config, { log: (message) => logger.info(message) });
logger.info('database is at the latest migration');
await close();
