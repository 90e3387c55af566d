import { describe, expect, it } from 'vitest';
import { OPEN_PRINCIPAL, type Principal } from '../../src/access/index.js';
import { RateLimitError } from '../../src/errors/index.js';
import { RateLimits, rateKeyOf } from '../../src/server/rate-limits.js';

const principal = (credential: Principal['credential'], jobId?: string): Principal => ({
  tenancy: { tenant: 'acme', ...(jobId ? { jobId } : {}) },
  scopes: new Set(['read']),
  credential,
});

describe('rateKeyOf', () => {
  it('counts a key, a JWT subject in its tenant and a job token by themselves, anyone else by address', () => {
    expect(rateKeyOf(principal({ kind: 'api-key', keyId: 'k1', secretHash: Buffer.alloc(32) }), '10.0.0.1')).toBe('key:k1');
    expect(rateKeyOf(principal({ kind: 'jwt', subject: 'u1', expiresAt: undefined }), '10.0.0.1')).toBe('jwt:acme:u1');
    expect(rateKeyOf(principal({ kind: 'jwt', subject: undefined, expiresAt: undefined }), '10.0.0.1')).toBe('ip:10.0.0.1');
    expect(rateKeyOf(principal({ kind: 'job-token', expiresAt: new Date() }, 'j1'), '10.0.0.1')).toBe('job:j1');
    expect(rateKeyOf(OPEN_PRINCIPAL, '10.0.0.2')).toBe('ip:10.0.0.2');
    expect(rateKeyOf(undefined, '10.0.0.3')).toBe('ip:10.0.0.3');
  });
});

describe('RateLimits', () => {
  it('allows the rate, then answers a RateLimitError with the wait, per caller', async () => {
    const limits = new RateLimits({ requestsPerMinute: 3, tasksPerMinute: 0 });
    for (let n = 0; n < 3; n++) expect(await limits.request('a')).toBeUndefined();
    const refused = await limits.request('a');
    expect(refused).toBeInstanceOf(RateLimitError);
    expect(refused?.limited).toBe('requests');
    expect(refused?.retryAfterMs).toBeGreaterThan(59_000);
    expect(refused?.retryAfterMs).toBeLessThanOrEqual(60_000);
    expect(await limits.request('b')).toBeUndefined();
  });

  it('spends nothing on a refused submission, and counts one larger than the allowance as the allowance', async () => {
    const limits = new RateLimits({ requestsPerMinute: 0, tasksPerMinute: 10 });
    expect(await limits.submittedTasks('a', 7)).toBeUndefined();
    expect((await limits.submittedTasks('a', 4))?.limited).toBe('tasks');
    expect(await limits.submittedTasks('a', 3)).toBeUndefined();
    expect(await limits.submittedTasks('b', 1_000_000)).toBeUndefined();
    expect(await limits.submittedTasks('b', 1)).toBeInstanceOf(RateLimitError);
  });

  it('limits nothing at 0', async () => {
    const limits = new RateLimits({ requestsPerMinute: 0, tasksPerMinute: 0 });
    for (let n = 0; n < 1_000; n++) expect(await limits.request('a')).toBeUndefined();
    expect(await limits.submittedTasks('a', 1e9)).toBeUndefined();
  });
});
