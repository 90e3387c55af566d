import { describe, expect, it } from 'vitest';
import { retryDelayMs } from '../../src/domain/backoff.js';

describe('retryDelayMs', () => {
  it('retries at once without a policy', () => {
    expect(retryDelayMs(undefined, 1)).toBe(0);
    expect(retryDelayMs(null, 7)).toBe(0);
  });

  it('waits the same for FIXED', () => {
    const policy = { type: 'FIXED', delayMs: 1_500 } as const;
    expect([1, 2, 3, 10].map((n) => retryDelayMs(policy, n))).toEqual([1_500, 1_500, 1_500, 1_500]);
  });

  it('doubles for EXPONENTIAL, from delayMs after the first failure', () => {
    const policy = { type: 'EXPONENTIAL', delayMs: 100 } as const;
    expect([1, 2, 3, 4, 5].map((n) => retryDelayMs(policy, n))).toEqual([100, 200, 400, 800, 1_600]);
  });

  it('caps at maxDelayMs', () => {
    const policy = { type: 'EXPONENTIAL', delayMs: 100, maxDelayMs: 500 } as const;
    expect([1, 2, 3, 4, 50, 10_000].map((n) => retryDelayMs(policy, n))).toEqual([100, 200, 400, 500, 500, 500]);
  });

  it('stays finite for huge attempt numbers without a cap', () => {
    expect(Number.isFinite(retryDelayMs({ type: 'EXPONENTIAL', delayMs: 1 }, 10_000))).toBe(true);
  });

  it('takes away up to `jitter` of the delay at random', () => {
    const policy = { type: 'FIXED', delayMs: 1_000, jitter: 0.5 } as const;
    expect(retryDelayMs(policy, 1, () => 0)).toBe(1_000);
    expect(retryDelayMs(policy, 1, () => 0.999_999)).toBe(500);
    expect(retryDelayMs(policy, 1, () => 0.5)).toBe(750);
    for (let i = 0; i < 200; i++) {
      const delay = retryDelayMs(policy, 1);
      expect(delay).toBeGreaterThanOrEqual(500);
      expect(delay).toBeLessThanOrEqual(1_000);
    }
  });

  it('applies jitter after the cap', () => {
    const policy = { type: 'EXPONENTIAL', delayMs: 100, maxDelayMs: 400, jitter: 1 } as const;
    expect(retryDelayMs(policy, 10, () => 0.25)).toBe(300);
  });
});
