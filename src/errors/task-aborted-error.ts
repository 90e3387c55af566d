import { JobQlError } from './job-ql-error.js';

export type AbortCause = 'CANCELLED' | 'TIMEOUT' | 'LEASE_LOST' | 'SHUTDOWN';

/** The reason an attempt's AbortSignal fired. */
export class TaskAbortedError extends JobQlError {
  override readonly name = 'TaskAbortedError';
  readonly code: AbortCause;

  constructor(cause: AbortCause, message: string) {
    super(message);
    this.code = cause;
  }
}
