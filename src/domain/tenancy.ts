/**
 * Every job and task belongs to a tenant, and every call of the API runs in one. A job token
 * narrows its holder further, to one job of its tenant. Attempts and events belong to the tenant
 * of their task and job.
 */
export interface Tenancy {
  readonly tenant: string;
  /** Set for the holder of a job token: nothing but this job (and its tasks) exists for it. */
  readonly jobId?: string;
}

/** The tenant of `AUTH_MODE=open`, and of every row written before there were tenants. */
export const DEFAULT_TENANT = 'default';

/** A tenant's name: 1–64 letters, digits, `.`, `_` or `-`, starting with a letter or digit. */
export const TENANT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function isTenantName(name: string): boolean {
  return TENANT_NAME.test(name);
}
