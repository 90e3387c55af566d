import { AccessService } from '../access/index.js';
import type { Config } from '../config.js';
import type { Db } from '../store/database.js';

/** The access service the configuration asks for: its mode, key cache, JWTs and job tokens. */
export function createConfiguredAccess(config: Config, db: Db): AccessService {
  const jwtKey = config.AUTH_JWKS_URL !== undefined ? { jwksUrl: config.AUTH_JWKS_URL } : config.AUTH_JWT_SECRET !== undefined ? { secret: config.AUTH_JWT_SECRET } : undefined;
  return new AccessService({
    db,
    mode: config.AUTH_MODE,
    keyCacheMs: config.AUTH_KEY_CACHE_MS,
    ...(jwtKey
      ? {
          jwt: {
            ...jwtKey,
            ...(config.AUTH_JWT_ISSUER !== undefined ? { issuer: config.AUTH_JWT_ISSUER } : {}),
            ...(config.AUTH_JWT_AUDIENCE !== undefined ? { audience: config.AUTH_JWT_AUDIENCE } : {}),
            tenantClaim: config.AUTH_JWT_TENANT_CLAIM,
            scopesClaim: config.AUTH_JWT_SCOPES_CLAIM,
          },
        }
      : {}),
    jobTokenDefaultSeconds: config.JOB_TOKEN_DEFAULT_SECONDS,
    jobTokenMaxSeconds: config.JOB_TOKEN_MAX_SECONDS,
  });
}

/** The start log's one line on who may call. */
export function accessSummary(config: Config): string {
  if (config.AUTH_MODE === 'open') {
    return `AUTH_MODE=open: no credential needed, every caller is tenant "default" with every scope, on ${config.HOST} only; set AUTH_MODE=required before others can reach it`;
  }
  const jwt = config.AUTH_JWKS_URL !== undefined || config.AUTH_JWT_SECRET !== undefined ? ', JWTs' : '';
  return `AUTH_MODE=required: every request needs an API key${jwt} or a job token (npm run keys -- create makes a key)`;
}
