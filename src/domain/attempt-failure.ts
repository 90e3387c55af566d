import { retryDelayMs, type BackoffPolicy } from './backoff.js';
import type { TaskStatus } from './state-machine.js';

/** What decides where a failed attempt leaves its task: none of it changes while the attempt runs. */
export interface RetryPolicy {
  /** The number of the attempt that failed. */
  readonly attempt: number;
  /** `attempt` when the task last got a fresh budget of `maxAttempts` (retryTask, a hand-back). */
  readonly attemptBase: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy | null;
}

export interface AttemptFailure {
  /** No other attempt can mend it (a result too large, a payload its schema refuses). */
  readonly final?: boolean;
  /** Given back unfinished by a stopping worker: not a failure of the task, and not counted. */
  readonly handBack?: boolean;
}

export interface FailureOutcome {
  readonly status: Extract<TaskStatus, 'QUEUED' | 'SCHEDULED' | 'FAILED'>;
  /** When the next attempt may start; the task's own run time stays when it FAILED. */
  readonly runAt: Date;
  readonly attemptBase: number;
}

/**
 * While attempts remain the task goes round again, QUEUED at once or SCHEDULED after its backoff;
 * else, or when the failure is `final`, it is FAILED. A hand-back goes round at once and its
 * attempt does not count against `maxAttempts`.
 */
export function failureOutcome(policy: RetryPolicy, failure: AttemptFailure, now: Date, random: () => number = Math.random): FailureOutcome {
  const used = policy.attempt - policy.attemptBase;
  if (failure.handBack) return { status: 'QUEUED', runAt: now, attemptBase: policy.attemptBase + 1 };
  if (failure.final || used >= policy.maxAttempts) return { status: 'FAILED', runAt: now, attemptBase: policy.attemptBase };
  const delayMs = retryDelayMs(policy.backoff, used, random);
  return { status: delayMs > 0 ? 'SCHEDULED' : 'QUEUED', runAt: new Date(now.getTime() + delayMs), attemptBase: policy.attemptBase };
}
