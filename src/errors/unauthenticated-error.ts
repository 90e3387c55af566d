import { JobQlError } from './job-ql-error.js';

/**
 * The request carries no credential where one is required, or one that is not valid (unknown,
 * revoked, expired, badly signed). Which of these it was is not said.
 */
export class UnauthenticatedError extends JobQlError {
  override readonly name = 'UnauthenticatedError';
  readonly code = 'UNAUTHENTICATED';

  constructor(message = 'A valid API key or token is required') {
    super(message);
  }
}
