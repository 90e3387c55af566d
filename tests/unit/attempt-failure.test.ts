import { describe, expect, it } from 'vitest';
import { failureOutcome } from '../../src/domain/attempt-failure.js';
import { canTransitionTask } from '../../src/domain/state-machine.js';

const now = new Date('2026-01-01T00:00:00Z');
const policy = { attempt: 1, attemptBase: 0, maxAttempts: 3, backoff: null };

describe('failureOutcome', () => {
  it('goes round at once while attempts remain and there is no backoff', () => {
    expect(failureOutcome(policy, {}, now)).toEqual({ status: 'QUEUED', runAt: now, attemptBase: 0 });
    expect(failureOutcome({ ...policy, attempt: 2 }, {}, now).status).toBe('QUEUED');
  });

  it('fails for good on the last attempt of the budget, counted from attemptBase', () => {
    expect(failureOutcome({ ...policy, attempt: 3 }, {}, now).status).toBe('FAILED');
    // Retried after 3 attempts: the budget starts again at attempt 4.
    expect(failureOutcome({ ...policy, attempt: 5, attemptBase: 3 }, {}, now).status).toBe('QUEUED');
    expect(failureOutcome({ ...policy, attempt: 6, attemptBase: 3 }, {}, now).status).toBe('FAILED');
  });

  it('fails for good on a final failure, whatever remains', () => {
    expect(failureOutcome(policy, { final: true }, now)).toEqual({ status: 'FAILED', runAt: now, attemptBase: 0 });
  });

  it('waits out the backoff of the failed attempt as SCHEDULED', () => {
    const exponential = { ...policy, attempt: 2, backoff: { type: 'EXPONENTIAL', delayMs: 100 } } as const;
    expect(failureOutcome(exponential, {}, now)).toEqual({ status: 'SCHEDULED', runAt: new Date(now.getTime() + 200), attemptBase: 0 });
    const jittered = { ...policy, backoff: { type: 'FIXED', delayMs: 1_000, jitter: 1 } } as const;
    expect(failureOutcome(jittered, {}, now, () => 0.25).runAt).toEqual(new Date(now.getTime() + 750));
  });

  it('hands back at once without using up an attempt, even on the last one and with a backoff', () => {
    const last = { ...policy, attempt: 3, backoff: { type: 'FIXED', delayMs: 5_000 } } as const;
    expect(failureOutcome(last, { handBack: true }, now)).toEqual({ status: 'QUEUED', runAt: now, attemptBase: 1 });
  });

  it('only ever answers a status a running task may move to', () => {
    for (const attempt of [1, 2, 3]) {
      for (const failure of [{}, { final: true }, { handBack: true }]) {
        const backoff = { type: 'FIXED', delayMs: 10 } as const;
        expect(canTransitionTask('RUNNING', failureOutcome({ ...policy, attempt, backoff }, failure, now).status)).toBe(true);
      }
    }
  });
});
