/**
 * Which ticks of a schedule to submit now, and the next tick after them. A due tick at most
 * `onTimeMs` old is *on time* and is always submitted. An older one was *missed* (nothing ran
 * then), and the schedule's policy says what becomes of those:
 * - SKIP: dropped;
 * - RUN_ONCE: one job, for the latest of them;
 * - RUN_ALL: one job for each, the latest `missedLimit` of them.
 * Missed ticks are walked back from the start of the on-time window, only as many as the policy
 * keeps, so a schedule of every second that was away for a month costs no more than one away a minute.
 */

export type MissedTicks = 'SKIP' | 'RUN_ONCE' | 'RUN_ALL';

export interface TickPlan {
  /** The ticks to submit, oldest first. */
  readonly fire: readonly Date[];
  /** The first tick after `now`; null when the expression has no more. */
  readonly nextRunAt: Date | null;
}

export interface TickClock {
  /** The expression's first tick strictly after an instant, or null. */
  tickAfter(instant: Date): Date | null;
  /** Its last tick strictly before an instant, or null. */
  tickBefore(instant: Date): Date | null;
}

/** The most on-time ticks submitted at once: a 30 s window of a schedule of every second holds 31. */
const MAX_ON_TIME_TICKS = 1_000;

export function planTicks(params: {
  /** The schedule's next tick to submit (due when at or before `now`). */
  readonly nextRunAt: Date;
  readonly now: Date;
  readonly missed: MissedTicks;
  readonly missedLimit: number;
  readonly onTimeMs: number;
  readonly clock: TickClock;
}): TickPlan {
  const { nextRunAt, now, missed, missedLimit, clock } = params;
  if (nextRunAt.getTime() > now.getTime()) return { fire: [], nextRunAt };
  const onTimeSince = new Date(Math.max(nextRunAt.getTime(), now.getTime() - params.onTimeMs));
  const keep = missed === 'RUN_ALL' ? Math.max(1, missedLimit) : missed === 'RUN_ONCE' ? 1 : 0;
  const late: Date[] = [];
  for (let tick = clock.tickBefore(onTimeSince); tick !== null && late.length < keep && tick.getTime() >= nextRunAt.getTime(); tick = clock.tickBefore(tick)) {
    late.unshift(tick);
  }
  const onTime: Date[] = [];
  let tick: Date | null = nextRunAt.getTime() === onTimeSince.getTime() ? nextRunAt : clock.tickAfter(new Date(onTimeSince.getTime() - 1));
  while (tick !== null && tick.getTime() <= now.getTime()) {
    if (onTime.length < MAX_ON_TIME_TICKS) onTime.push(tick);
    tick = clock.tickAfter(tick);
  }
  return { fire: [...late, ...onTime], nextRunAt: tick };
}
