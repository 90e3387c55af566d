import { Cron } from 'croner';
import type { TickClock } from '../domain/schedule-ticks.js';
import type { FieldIssue } from '../errors/index.js';

/**
 * A cron expression in a time zone, read by croner: five fields, or six with seconds first;
 * `@hourly` and the like. Its ticks are instants.
 */
export class CronExpression implements TickClock {
  readonly #cron: Cron;

  private constructor(cron: Cron) {
    this.#cron = cron;
  }

  /** The expression, or the issues that make it unusable (bad syntax, unknown zone). */
  static parse(expression: string, timeZone: string): CronExpression | FieldIssue[] {
    if (!isTimeZone(timeZone)) return [{ path: 'timeZone', message: `"${timeZone}" is not an IANA time zone` }];
    try {
      const cron = new Cron(expression, { timezone: timeZone, paused: true });
      // An expression can parse and still fail to compute in its zone: compute once here.
      cron.nextRun(new Date());
      return new CronExpression(cron);
    } catch (error) {
      return [{ path: 'cron', message: error instanceof Error ? error.message : 'not a cron expression' }];
    }
  }

  /** The first tick strictly after `instant`, or null when there is none. */
  tickAfter(instant: Date): Date | null {
    return this.#cron.nextRun(instant);
  }

  /** The last tick strictly before `instant`, or null when there is none. */
  tickBefore(instant: Date): Date | null {
    return this.#cron.previousRuns(1, instant)[0] ?? null;
  }
}

function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return name.length > 0;
  } catch {
    return false;
  }
}
