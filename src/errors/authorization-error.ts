import { JobQlError } from './job-ql-error.js';

/** The caller is known, but its key or token does not grant what the operation needs. */
export class AuthorizationError extends JobQlError {
  override readonly name = 'AuthorizationError';
  readonly code = 'FORBIDDEN';

  constructor(
    /** The scopes any one of which would have allowed it. */
    readonly requiredScopes: readonly string[],
  ) {
    super(requiredScopes.length > 0 ? `Not allowed: this needs the ${requiredScopes.join(' or ')} scope` : 'Not allowed');
  }
}
