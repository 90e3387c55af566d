import { DEFAULT_TENANT, type Tenancy } from '../domain/tenancy.js';
import { grantedScopes, SCOPES, type Scope } from './scopes.js';

/** How the caller proved who it is. */
export type Credential =
  /** `AUTH_MODE=open` and no credential sent: the local developer. */
  | { readonly kind: 'open' }
  /** `secretHash` looks the key up again (is it still there?), without keeping the secret. */
  | { readonly kind: 'api-key'; readonly keyId: string; readonly secretHash: Buffer }
  | { readonly kind: 'jwt'; readonly subject: string | undefined; readonly expiresAt: Date | undefined }
  | { readonly kind: 'job-token'; readonly expiresAt: Date };

/** Who is calling: the tenancy every statement of the request runs in, and what it may do. */
export interface Principal {
  readonly tenancy: Tenancy;
  readonly scopes: ReadonlySet<Scope>;
  readonly credential: Credential;
}

/** The caller of `AUTH_MODE=open` that sends no credential: tenant `default`, every scope. */
export const OPEN_PRINCIPAL: Principal = {
  tenancy: { tenant: DEFAULT_TENANT },
  scopes: grantedScopes(SCOPES),
  credential: { kind: 'open' },
};

/** Until when the credential is good, where it says so itself (a token's expiry). */
/**
 * Whether the caller operates the deployment: an `admin` of the operator tenant (`default`).
 * Queues and workers serve every tenant, so what steers them, or shows every tenant's figures,
 * is theirs alone.
 */
export function isOperator(principal: Principal): boolean {
  return principal.tenancy.tenant === DEFAULT_TENANT && principal.scopes.has('admin');
}

/** Who did it, as a record shows it: the key's id, the token's subject, or `open`. */
export function actorOf(principal: Principal): string {
  const { credential } = principal;
  switch (credential.kind) {
    case 'api-key':
      return `key:${credential.keyId}`;
    case 'jwt':
      return `jwt:${credential.subject ?? 'unknown'}`;
    case 'job-token':
      return 'job-token';
    case 'open':
      return 'open';
  }
}

export function expiryOf(principal: Principal): Date | undefined {
  const { credential } = principal;
  return credential.kind === 'jwt' || credential.kind === 'job-token' ? credential.expiresAt : undefined;
}
