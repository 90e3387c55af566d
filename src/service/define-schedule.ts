import type { ScheduleInput } from './schedule-service.js';

/** A schedule declared in code, beside the task types it submits; `startJobQl({ schedules })` keeps it in the store. */
export interface ScheduleDefinition extends ScheduleInput {
  /** The tenant whose job each tick submits: `default` unless given. */
  readonly tenant?: string;
}

/**
 * Declares a cron schedule. Every process given it writes it to the store at start (as source
 * CODE): a changed expression, zone or job replaces the stored one, and an operator's pause is
 * kept. Every worker process submits the due ticks of every schedule, each once.
 */
export function defineSchedule(definition: ScheduleDefinition): ScheduleDefinition {
  return Object.freeze({ ...definition });
}
