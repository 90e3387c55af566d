import { JobQlError } from './job-ql-error.js';

/**
 * A failure that another attempt cannot mend (bad input, a result too large to keep): thrown by a
 * handler, or by the worker, it ends the task FAILED at once, whatever attempts remain.
 */
export class NonRetryableError extends JobQlError {
  override readonly name = 'NonRetryableError';

  constructor(
    message: string,
    readonly code: string = 'NON_RETRYABLE',
  ) {
    super(message);
  }
}

/** By name too: an error thrown in a handler thread arrives as a plain Error that kept its name. */
export function isNonRetryable(error: unknown): boolean {
  return error instanceof NonRetryableError || (error instanceof Error && error.name === 'NonRetryableError');
}
