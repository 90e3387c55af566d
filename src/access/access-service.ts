import { randomUUID } from 'node:crypto';
import { isTenantName, type Tenancy } from '../domain/tenancy.js';
import { isUuid } from '../domain/uuid.js';
import { NotFoundError, UnauthenticatedError, ValidationError } from '../errors/index.js';
import type { Db } from '../store/database.js';
import { insertApiKey, listApiKeys, revokeApiKey } from '../store/api-keys.js';
import { jobsByIds } from '../store/reads.js';
import type { ApiKeyRecord } from '../store/records.js';
import { signingSecret } from '../store/signing-secrets.js';
import { hashApiKeySecret, looksLikeApiKey, newApiKeySecret, shownPartOf } from './api-key-secret.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { JobTokens, JOB_TOKEN_PREFIX } from './job-tokens.js';
import { JwtVerifier, type JwtSettings } from './jwt-verifier.js';
import { expiryOf, OPEN_PRINCIPAL, type Principal } from './principal.js';
import { parseScopes, SCOPES, type Scope } from './scopes.js';

/** `open`: a request without a credential is the local developer; `required`: it is refused. */
export type AuthMode = 'open' | 'required';

export interface AccessServiceOptions {
  readonly db: Db;
  readonly mode: AuthMode;
  /** How long a key lookup is remembered: a revoked key is refused within this long. */
  readonly keyCacheMs: number;
  /** Set when the users' identity provider's JWTs are accepted. */
  readonly jwt?: JwtSettings;
  readonly jobTokenDefaultSeconds: number;
  readonly jobTokenMaxSeconds: number;
}

export interface NewApiKey {
  readonly key: ApiKeyRecord;
  /** The key itself, shown once: only its hash is kept. */
  readonly secret: string;
}


/**
 * Who may call, and as whom: turns a request's credential into a principal, makes job tokens,
 * and keeps the API keys. The server asks it of each request and connection; the schema asks it
 * for job tokens; `npm run keys` for keys.
 */
export class AccessService {
  private readonly keys: ApiKeyVerifier;
  private readonly jobTokens: JobTokens;
  private readonly jwt: JwtVerifier | undefined;
  private secret: Promise<Uint8Array> | undefined;

  constructor(private readonly options: AccessServiceOptions) {
    this.keys = new ApiKeyVerifier(options.db, options.keyCacheMs);
    this.jobTokens = new JobTokens(() => (this.secret ??= signingSecret(options.db, 'job-tokens').catch((error: unknown) => {
      this.secret = undefined;
      throw error;
    })));
    this.jwt = options.jwt ? new JwtVerifier(options.jwt) : undefined;
  }

  get mode(): AuthMode {
    return this.options.mode;
  }

  /**
   * The caller that `authorization` (an `Authorization` header's value, `Bearer` optional)
   * proves. Without one: the open principal in `open` mode, else UnauthenticatedError, as for any
   * credential that is not valid.
   */
  async authenticate(authorization: string | undefined): Promise<Principal> {
    // `Bearer` with nothing after it (GraphiQL's header before a key is pasted; HTTP trims the space) is no credential.
    const credential = authorization?.replace(/^\s*bearer(?:\s+|$)/i, '').trim();
    if (credential === undefined || credential === '') {
      if (this.options.mode === 'open') return OPEN_PRINCIPAL;
      throw new UnauthenticatedError();
    }
    const principal = await this.verify(credential);
    if (!principal) throw new UnauthenticatedError('The API key or token is not valid');
    return principal;
  }

  /** Whether a principal made earlier still holds: its key not revoked, its token not expired. */
  async stillValid(principal: Principal, now = new Date()): Promise<boolean> {
    const expiry = expiryOf(principal);
    if (expiry !== undefined && expiry <= now) return false;
    const { credential } = principal;
    if (credential.kind !== 'api-key') return true;
    return (await this.keys.verifyHash(credential.secretHash)) !== undefined;
  }

  private async verify(credential: string): Promise<Principal | undefined> {
    if (credential.length > 8_192) return undefined;
    if (looksLikeApiKey(credential)) return this.keys.verify(credential);
    if (credential.startsWith(JOB_TOKEN_PREFIX)) return this.jobTokens.verify(credential);
    return this.jwt?.verify(credential);
  }

  /**
   * A token for the browser: it reads this one job of the tenancy's tenant (and its tasks and
   * events) until it expires, and nothing else. NotFoundError when the tenancy has no such job.
   */
  async createJobToken(tenancy: Tenancy, jobId: string, expiresInSeconds?: number): Promise<{ token: string; expiresAt: Date }> {
    const { jobTokenDefaultSeconds, jobTokenMaxSeconds } = this.options;
    const seconds = expiresInSeconds ?? jobTokenDefaultSeconds;
    if (!Number.isInteger(seconds) || seconds < 1 || seconds > jobTokenMaxSeconds) {
      throw ValidationError.field('expiresInSeconds', `must be a whole number of seconds from 1 to ${jobTokenMaxSeconds}`);
    }
    const [job] = isUuid(jobId) ? await jobsByIds(this.options.db, tenancy, [jobId]) : [];
    if (!job) throw new NotFoundError('Job', jobId);
    const expiresAt = new Date(Date.now() + seconds * 1_000);
    return { token: await this.jobTokens.sign(job.tenantId, job.id, expiresAt), expiresAt };
  }

  async createKey(params: { readonly tenant: string; readonly scopes: readonly string[]; readonly name?: string }): Promise<NewApiKey> {
    if (!isTenantName(params.tenant)) throw ValidationError.field('tenant', `"${params.tenant}" is not a tenant name (1–64 letters, digits, ".", "_" or "-")`);
    const { scopes, unknown } = parseScopes(params.scopes);
    if (unknown.length > 0) throw ValidationError.field('scopes', `unknown scope ${unknown.map((name) => `"${name}"`).join(', ')}: use ${SCOPES.join(', ')}`);
    if (scopes.length === 0) throw ValidationError.field('scopes', `give at least one of ${SCOPES.join(', ')}`);
    const secret = newApiKeySecret();
    const key = await insertApiKey(this.options.db, {
      id: randomUUID(),
      tenant: params.tenant,
      name: params.name ?? null,
      scopes: scopes satisfies Scope[],
      prefix: shownPartOf(secret),
      secretHash: hashApiKeySecret(secret),
    });
    return { key, secret };
  }

  async listKeys(tenant?: string): Promise<ApiKeyRecord[]> {
    return listApiKeys(this.options.db, tenant);
  }

  /** Every API process refuses the key within `keyCacheMs`. NotFoundError for an unknown id. */
  async revokeKey(id: string): Promise<ApiKeyRecord> {
    const key = isUuid(id) ? await revokeApiKey(this.options.db, id, new Date()) : undefined;
    if (!key) throw new NotFoundError('ApiKey', id);
    return key;
  }
}
