import { describe, expect, it } from 'vitest';
import { planTicks, type MissedTicks } from '../../src/domain/schedule-ticks.js';

/** Ticks every second, on the second. */
const everySecond = {
  tickAfter: (instant: Date): Date => new Date(Math.floor(instant.getTime() / 1000) * 1000 + 1000),
  tickBefore: (instant: Date): Date => new Date(Math.ceil(instant.getTime() / 1000) * 1000 - 1000),
};
const at = (seconds: number): Date => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
const seconds = (dates: readonly Date[]): number[] => dates.map((date) => date.getUTCSeconds());

function plan(missed: MissedTicks, nextRunAt: number, now: number, missedLimit = 10) {
  return planTicks({ nextRunAt: at(nextRunAt), now: new Date(at(now).getTime() + 300), missed, missedLimit, onTimeMs: 2_000, clock: everySecond });
}

describe('planTicks', () => {
  it('submits the due ticks that are on time, whatever the policy, and moves to the first after now', () => {
    for (const policy of ['SKIP', 'RUN_ONCE', 'RUN_ALL'] as const) {
      expect(seconds(plan(policy, 10, 11).fire)).toEqual([10, 11]);
      expect(plan(policy, 10, 11).nextRunAt).toEqual(at(12));
    }
  });

  it('submits nothing before the next tick is due', () => {
    const early = planTicks({ nextRunAt: at(10), now: at(9), missed: 'RUN_ALL', missedLimit: 5, onTimeMs: 2_000, clock: everySecond });
    expect(early).toEqual({ fire: [], nextRunAt: at(10) });
  });

  it('drops missed ticks with SKIP, makes one job of them with RUN_ONCE, and the latest few with RUN_ALL', () => {
    // Due from 0 to 20 at 20.3 s: 19 and 20 are on time (2 s), 0–18 were missed.
    expect(seconds(plan('SKIP', 0, 20).fire)).toEqual([19, 20]);
    expect(seconds(plan('RUN_ONCE', 0, 20).fire)).toEqual([18, 19, 20]);
    expect(seconds(plan('RUN_ALL', 0, 20, 3).fire)).toEqual([16, 17, 18, 19, 20]);
    expect(seconds(plan('RUN_ALL', 0, 20, 100).fire)).toHaveLength(21);
    expect(plan('SKIP', 0, 20).nextRunAt).toEqual(at(21));
  });

  it('ends with no next tick when the expression has no more', () => {
    const once = {
      tickAfter: (instant: Date): Date | null => (instant.getTime() < at(5).getTime() ? at(5) : null),
      tickBefore: (instant: Date): Date | null => (instant.getTime() > at(5).getTime() ? at(5) : null),
    };
    expect(planTicks({ nextRunAt: at(5), now: at(6), missed: 'SKIP', missedLimit: 1, onTimeMs: 2_000, clock: once })).toEqual({ fire: [at(5)], nextRunAt: null });
  });

  it('walks back only the missed ticks it keeps, however many there were', () => {
    const start = Date.UTC(2026, 0, 1);
    const now = new Date(start + 86_400_000 + 300);
    const result = planTicks({ nextRunAt: new Date(start), now, missed: 'RUN_ALL', missedLimit: 2, onTimeMs: 2_000, clock: everySecond });
    expect(result.fire.map((date) => now.getTime() - date.getTime())).toEqual([3_300, 2_300, 1_300, 300]);
    const skipped = planTicks({ nextRunAt: new Date(start), now, missed: 'SKIP', missedLimit: 2, onTimeMs: 2_000, clock: everySecond });
    expect(skipped.fire).toHaveLength(2);
    expect(result.nextRunAt).toEqual(new Date(start + 86_401_000));
  });
});
