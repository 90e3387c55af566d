import { loadConfig, type ProcessRole } from '../config.js';
import { createProcessLogger } from './process-logger.js';
import { startJobQl } from './start-jobql.js';

/**
 * Starts a process of `role` from the environment and runs it until SIGINT or SIGTERM: then it
 * stops taking work, lets running tasks finish within SHUTDOWN_GRACE_MS, hands the rest back to
 * their queues and exits 0. A second signal while stopping is ignored; the grace bounds the wait.
 */
export async function runProcess(role: ProcessRole): Promise<void> {
  const config = loadConfig();
  const logger = await createProcessLogger(config);
  const app = await startJobQl({ config, role, logger }).catch((error: unknown) => {
    logger.fatal({ err: error }, 'jobql could not start');
    process.exit(1);
  });

  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, graceMs: config.SHUTDOWN_GRACE_MS }, 'stopping: finishing running tasks');
      app.stop().then(
        () => {
          logger.info('stopped');
          process.exit(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, 'stop failed');
          process.exit(1);
        },
      );
    });
  }
}
