import type { Logger } from 'pino';
import { toError } from '../errors/index.js';

export interface Loop {
  stop(): Promise<void>;
}

/** Runs `work` every `intervalMs` after the previous run ends; `stop` waits for a run in flight. */
export function every(intervalMs: number, work: () => Promise<unknown>, name: string, logger: Logger): Loop {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> = Promise.resolve();
  const tick = (): void => {
    inFlight = work()
      .then(() => undefined)
      .catch((error: unknown) => logger.warn({ err: toError(error) }, `${name} failed; will retry`))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  timer = setTimeout(tick, intervalMs);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}
