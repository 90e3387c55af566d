import { jwtVerify, SignJWT } from 'jose';
import { isTenantName } from '../domain/tenancy.js';
import type { Principal } from './principal.js';

/**
 * A job token lets a browser read one job, its tasks and its events, and nothing else, until it
 * expires: a back end holding a key with `submit` makes one for the job it submitted and hands it
 * over. It is `jobql_t_` and a JWT signed (HS256) with a secret every API process shares.
 */
export const JOB_TOKEN_PREFIX = 'jobql_t_';
const ISSUER = 'jobql';
const AUDIENCE = 'jobql:job';

export class JobTokens {
  constructor(private readonly secret: () => Promise<Uint8Array>) {}

  async sign(tenant: string, jobId: string, expiresAt: Date): Promise<string> {
    const jwt = await new SignJWT({ tnt: tenant, job: jobId })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(Math.floor(expiresAt.getTime() / 1_000))
      .sign(await this.secret());
    return JOB_TOKEN_PREFIX + jwt;
  }

  /** The token's holder, or undefined for a token that is not one of ours, is altered or has expired. */
  async verify(token: string): Promise<Principal | undefined> {
    if (!token.startsWith(JOB_TOKEN_PREFIX)) return undefined;
    try {
      const { payload } = await jwtVerify(token.slice(JOB_TOKEN_PREFIX.length), await this.secret(), {
        issuer: ISSUER,
        audience: AUDIENCE,
        algorithms: ['HS256'],
      });
      const { tnt, job, exp } = payload;
      if (typeof tnt !== 'string' || !isTenantName(tnt) || typeof job !== 'string' || exp === undefined) return undefined;
      return { tenancy: { tenant: tnt, jobId: job }, scopes: new Set(), credential: { kind: 'job-token', expiresAt: new Date(exp * 1_000) } };
    } catch {
      return undefined;
    }
  }
}
