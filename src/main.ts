import pino from 'pino';
import { loadConfig } from './config.js';
import { startJobQl } from './runtime.js';

/** `npm start`: the API and a worker in one process. */
const config = loadConfig();
const logger = pino({ level: config.LOG_LEVEL });
const app = await startJobQl({ config, logger }).catch((error: unknown) => {
  logger.fatal({ err: error }, 'jobql could not start');
  process.exit(1);
});

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping: finishing running tasks');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'stop failed');
        process.exit(1);
      },
    );
  });
}
