import type { Db } from '../store/database.js';
import { useApiKey } from '../store/api-keys.js';
import type { Principal } from './principal.js';
import { grantedScopes, parseScopes } from './scopes.js';
import { hashApiKeySecret } from './api-key-secret.js';

/** Keys remembered at once; past this the oldest is forgotten first. */
const MAX_CACHED = 10_000;

interface Cached {
  readonly principal: Promise<Principal | undefined>;
  readonly until: number;
}

/**
 * Looks API keys up, remembering each answer for `cacheMs`: a busy key costs one statement per
 * `cacheMs` instead of one per request, and a revoked key is refused within `cacheMs` by every
 * process. Unknown secrets are remembered too, so guessing costs the database nothing more.
 */
export class ApiKeyVerifier {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly db: Db,
    private readonly cacheMs: number,
  ) {}

  /** The key's holder, or undefined for a key that does not exist or is revoked. */
  async verify(secret: string): Promise<Principal | undefined> {
    return this.verifyHash(hashApiKeySecret(secret));
  }

  /** The same, by the hash of the key's secret. */
  async verifyHash(hash: Buffer): Promise<Principal | undefined> {
    const id = hash.toString('base64');
    const now = Date.now();
    const cached = this.cache.get(id);
    if (cached && cached.until > now) return cached.principal;
    this.cache.delete(id);
    if (this.cache.size >= MAX_CACHED) this.cache.delete(this.cache.keys().next().value!);
    const principal = this.lookUp(hash);
    this.cache.set(id, { principal, until: now + this.cacheMs });
    // A failed lookup is not remembered: the next request asks again.
    principal.catch(() => this.cache.delete(id));
    return principal;
  }

  private async lookUp(hash: Buffer): Promise<Principal | undefined> {
    const key = await useApiKey(this.db, hash, new Date());
    if (!key) return undefined;
    return {
      tenancy: { tenant: key.tenantId },
      scopes: grantedScopes(parseScopes(key.scopes).scopes),
      credential: { kind: 'api-key', keyId: key.id, secretHash: hash },
    };
  }
}
