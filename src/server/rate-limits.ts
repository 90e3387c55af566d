import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Principal } from '../access/index.js';
import { RateLimitError, type RateLimited } from '../errors/index.js';

/** Per caller and minute; 0 means no limit. */
export interface RateLimitSettings {
  readonly requestsPerMinute: number;
  readonly tasksPerMinute: number;
}

/**
 * Who a rate is counted for: a key, a JWT's subject in its tenant, a job token's job, and any
 * other caller (the open mode's, or one whose credential was refused) by the address it calls from.
 */
export function rateKeyOf(principal: Principal | undefined, address: string): string {
  const credential = principal?.credential;
  switch (credential?.kind) {
    case 'api-key':
      return `key:${credential.keyId}`;
    case 'jwt':
      return credential.subject === undefined ? `ip:${address}` : `jwt:${principal?.tenancy.tenant}:${credential.subject}`;
    case 'job-token':
      return `job:${principal?.tenancy.jobId}`;
    default:
      return `ip:${address}`;
  }
}

/**
 * The API's rate limits, counted in this process over fixed one-minute windows that start at a
 * caller's first call (rate-limiter-flexible's memory store, which forgets a caller when its
 * window ends). Each API process counts on its own: N processes allow N times the rate.
 */
export class RateLimits {
  private readonly requests: RateLimiterMemory | undefined;
  private readonly tasks: RateLimiterMemory | undefined;

  constructor(private readonly settings: RateLimitSettings) {
    this.requests = settings.requestsPerMinute > 0 ? new RateLimiterMemory({ points: settings.requestsPerMinute, duration: 60 }) : undefined;
    this.tasks = settings.tasksPerMinute > 0 ? new RateLimiterMemory({ points: settings.tasksPerMinute, duration: 60 }) : undefined;
  }

  /** Counts one request of the caller; a RateLimitError when it is one too many. */
  request(key: string): Promise<RateLimitError | undefined> {
    return this.spend(this.requests, 'requests', this.settings.requestsPerMinute, key, 1);
  }

  /**
   * Counts `count` submitted tasks of the caller; a RateLimitError when they are too many. A
   * submission larger than a whole minute's allowance counts as that allowance (the service
   * refuses it as too large: MAX_TASKS_PER_JOB is at most the allowance).
   */
  submittedTasks(key: string, count: number): Promise<RateLimitError | undefined> {
    return this.spend(this.tasks, 'tasks', this.settings.tasksPerMinute, key, Math.min(count, this.settings.tasksPerMinute));
  }

  private async spend(limiter: RateLimiterMemory | undefined, limited: RateLimited, perMinute: number, key: string, points: number) {
    if (limiter === undefined || points === 0) return undefined;
    try {
      await limiter.consume(key, points);
      return undefined;
    } catch (refusal) {
      // The store rejects with its result when the points run out, and with an Error otherwise.
      if (!(refusal instanceof RateLimiterRes)) throw refusal;
      // A refused call spends nothing: a submission too large for what is left leaves room for smaller ones.
      await limiter.reward(key, points);
      return new RateLimitError(limited, perMinute, Math.max(1, refusal.msBeforeNext));
    }
  }
}
