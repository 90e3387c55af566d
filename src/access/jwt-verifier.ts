import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { isTenantName } from '../domain/tenancy.js';
import type { Principal } from './principal.js';
import { grantedScopes, parseScopes } from './scopes.js';

export interface JwtSettings {
  /** The identity provider's key set, fetched and cached by jose (RS/ES/EdDSA tokens). */
  readonly jwksUrl?: string;
  /** A shared secret, for HS256/384/512 tokens. */
  readonly secret?: string;
  readonly issuer?: string;
  readonly audience?: string;
  /** The claim that names the tenant. */
  readonly tenantClaim: string;
  /** The claim that lists the scopes: a space- or comma-separated string, or an array. */
  readonly scopesClaim: string;
}

/**
 * Verifies the JWTs of the users' own identity provider: signature, expiry, and the issuer and
 * audience when configured; the tenant and scopes come from the configured claims.
 */
export class JwtVerifier {
  private readonly key: JWTVerifyGetKey | Uint8Array;
  private readonly algorithms: string[] | undefined;

  constructor(private readonly settings: JwtSettings) {
    if (settings.jwksUrl !== undefined) {
      this.key = createRemoteJWKSet(new URL(settings.jwksUrl));
      this.algorithms = undefined;
    } else if (settings.secret !== undefined) {
      this.key = new TextEncoder().encode(settings.secret);
      this.algorithms = ['HS256', 'HS384', 'HS512'];
    } else {
      throw new Error('a JWT verifier needs AUTH_JWKS_URL or AUTH_JWT_SECRET');
    }
  }

  /** The token's holder, or undefined for a token that is not valid or names no valid tenant. */
  async verify(token: string): Promise<Principal | undefined> {
    let payload: JWTPayload;
    try {
      const options = {
        ...(this.settings.issuer !== undefined ? { issuer: this.settings.issuer } : {}),
        ...(this.settings.audience !== undefined ? { audience: this.settings.audience } : {}),
        ...(this.algorithms ? { algorithms: this.algorithms } : {}),
      };
      // Two calls, not one with a union key: jose types the two overloads apart.
      payload = this.key instanceof Uint8Array ? (await jwtVerify(token, this.key, options)).payload : (await jwtVerify(token, this.key, options)).payload;
    } catch {
      return undefined;
    }
    const tenant = payload[this.settings.tenantClaim];
    if (typeof tenant !== 'string' || !isTenantName(tenant)) return undefined;
    const claimed = payload[this.settings.scopesClaim];
    const scopes = typeof claimed === 'string' || Array.isArray(claimed) ? parseScopes(claimed).scopes : [];
    return {
      tenancy: { tenant },
      scopes: grantedScopes(scopes),
      credential: { kind: 'jwt', subject: payload.sub, expiresAt: payload.exp === undefined ? undefined : new Date(payload.exp * 1_000) },
    };
  }
}
