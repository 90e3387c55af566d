/**
 * How long a failed task waits before its next attempt. Pure: the store calls it with the
 * attempt that just failed and a random number, so tests can pin both.
 *
 * - FIXED: `delayMs` every time.
 * - EXPONENTIAL: `delayMs × 2^(n−1)` after the n-th failed attempt (of the current budget).
 * Both are capped at `maxDelayMs` when given; `jitter` (0–1) then takes away up to that fraction
 * at random, so many tasks failing together do not all come back at the same instant.
 */

export const BACKOFF_TYPES = ['FIXED', 'EXPONENTIAL'] as const;
export type BackoffType = (typeof BACKOFF_TYPES)[number];

export interface BackoffPolicy {
  readonly type: BackoffType;
  readonly delayMs: number;
  readonly maxDelayMs?: number | null | undefined;
  /** 0 (none, the default) to 1 (anywhere from 0 to the full delay). */
  readonly jitter?: number | null | undefined;
}

/** Exponents past this change nothing but risk Infinity: 2^40 ms is over 34 years. */
const MAX_EXPONENT = 40;

/** The wait after the `failedAttempt`-th failed attempt (1-based, counted within the budget). */
export function retryDelayMs(policy: BackoffPolicy | null | undefined, failedAttempt: number, random: () => number = Math.random): number {
  if (!policy) return 0;
  const exponent = Math.min(Math.max(failedAttempt - 1, 0), MAX_EXPONENT);
  const base = policy.type === 'FIXED' ? policy.delayMs : policy.delayMs * 2 ** exponent;
  const capped = policy.maxDelayMs != null ? Math.min(base, policy.maxDelayMs) : base;
  const jitter = Math.min(Math.max(policy.jitter ?? 0, 0), 1);
  return Math.round(capped * (1 - jitter * random()));
}
