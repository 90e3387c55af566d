import pino, { type Logger } from 'pino';
import type { Config } from '../config.js';
import { requestLogFields } from '../server/request-log-context.js';

/**
 * The process's logger: JSON lines, each line of a request with its `requestId`; in a terminal,
 * outside production, readable lines instead (pino-pretty, on this thread: no transport worker).
 */
export async function createProcessLogger(
  config: Pick<Config, 'LOG_LEVEL' | 'LOG_FORMAT' | 'NODE_ENV'>,
  /** Where JSON lines go instead of stdout (tests read them). */
  destination?: NodeJS.WritableStream,
): Promise<Logger> {
  const options = { level: config.LOG_LEVEL, mixin: requestLogFields };
  const pretty = config.LOG_FORMAT === 'pretty' || (config.LOG_FORMAT === 'auto' && process.stdout.isTTY === true && config.NODE_ENV !== 'production');
  if (!pretty) return destination ? pino(options, destination) : pino(options);
  const { default: prettyStream } = await import('pino-pretty');
  return pino(options, prettyStream({ colorize: process.stdout.isTTY === true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
}
