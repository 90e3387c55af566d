import { JobQlError } from './job-ql-error.js';

/** What a rate limit counts: the caller's requests, or the tasks it submits. */
export type RateLimited = 'requests' | 'tasks';

const wholeSeconds = (ms: number): number => Math.ceil(ms / 1000);

/** The caller went past its rate (RATE_LIMIT_*_PER_MINUTE). Nothing was written. */
export class RateLimitError extends JobQlError {
  override readonly name = 'RateLimitError';
  readonly code = 'RATE_LIMITED';

  constructor(
    readonly limited: RateLimited,
    readonly perMinute: number,
    /** How long until the same call would be allowed. */
    readonly retryAfterMs: number,
  ) {
    super(`Too many ${limited}: at most ${perMinute} per minute for each caller; retry in ${wholeSeconds(retryAfterMs)} s`);
  }

  /** The wait in whole seconds, rounded up, as `Retry-After` says it. */
  get retryAfterSeconds(): number {
    return wholeSeconds(this.retryAfterMs);
  }
}
