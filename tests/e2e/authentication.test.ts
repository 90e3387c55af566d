import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { print } from 'graphql';
import { AccessService } from '../../src/access/index.js';
import { GetJob, JobProgress, ListJobs, SubmitJob } from '../graphql/operations.js';
import { execute, send, type Caller } from '../support/graphql-client.js';
import { submitOrThrow } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const JWT_SECRET = 'a-shared-secret-of-at-least-32-characters';
const ISSUER = 'https://id.example.com/';
const WAITING = { name: 'waiting', tasks: [{ type: 'demo.echo', payload: {}, delayMs: 3_600_000 }] };

/** A graphql-ws client that reports the code its connection was closed with. */
function closingClient(url: string, caller: Caller): { client: Client; closed: Promise<number> } {
  let closed: (code: number) => void = () => {};
  const promise = new Promise<number>((resolve) => (closed = resolve));
  const client = createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    lazy: true,
    ...(caller.authorization !== undefined ? { connectionParams: { authorization: `Bearer ${caller.authorization}` } } : {}),
    on: { closed: (event) => closed((event as { code: number }).code) },
  });
  return { client, closed: promise };
}

/** Subscribes and returns how the stream ended: 'complete', or the error it ended with. */
function watchUntilEnd(client: Client, jobId: string): Promise<unknown> {
  return new Promise((resolve) => {
    client.subscribe({ query: print(JobProgress), variables: { jobId } }, { next: () => {}, error: resolve, complete: () => resolve('complete') });
  });
}

const jwt = (claims: Record<string, unknown>, options: { issuer?: string; expiresIn?: string } = {}) =>
  new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(options.issuer ?? ISSUER)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '5m')
    .sign(new TextEncoder().encode(JWT_SECRET));

describe('authentication with AUTH_MODE=required', () => {
  let app: TestApp;
  let access: AccessService;
  let admin: Caller;

  beforeAll(async () => {
    app = await startTestApp({
      env: { AUTH_MODE: 'required', QUEUE_ADAPTER: 'memory', AUTH_JWT_SECRET: JWT_SECRET, AUTH_JWT_ISSUER: ISSUER, AUTH_KEY_CACHE_MS: '2000' },
    });
    access = new AccessService({ db: app.db, mode: 'required', keyCacheMs: 2_000, jobTokenDefaultSeconds: 900, jobTokenMaxSeconds: 86_400 });
    admin = { authorization: (await access.createKey({ tenant: 'acme', scopes: ['admin'] })).secret };
  });
  afterAll(() => app?.stop());

  const jobCount = async () => Number((await app.db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);

  it('answers a request without a credential, or with an unknown one, with 401 UNAUTHENTICATED and writes nothing', async () => {
    const before = await jobCount();
    for (const caller of [{}, { authorization: 'jobql_k_' + '0'.repeat(48) }, { authorization: 'not a key' }]) {
      const answer = await send(app.url, SubmitJob, { input: WAITING }, caller);
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer');
      expect(answer.result.data ?? null).toBeNull();
      expect(answer.result.errors?.map((error) => error.extensions?.['code'])).toEqual(['UNAUTHENTICATED']);
    }
    expect(await jobCount()).toBe(before);
  });

  it('hides the schema from introspection', async () => {
    const response = await fetch(app.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.authorization}` },
      body: JSON.stringify({ query: '{ __schema { types { name } } }' }),
    });
    const body = (await response.json()) as { errors?: { message: string }[] };
    expect(body.errors?.[0]?.message).toMatch(/introspection/i);
  });

  it('closes a WebSocket without a valid credential with 4401, and one whose key lacks the scope with 4403', async () => {
    const anonymous = closingClient(app.url, {});
    void watchUntilEnd(anonymous.client, 'x');
    expect(await anonymous.closed).toBe(4401);
    await anonymous.client.dispose();

    const job = await submitOrThrow(app.url, WAITING, admin);
    const submitter = closingClient(app.url, { authorization: (await access.createKey({ tenant: 'acme', scopes: ['submit'] })).secret });
    void watchUntilEnd(submitter.client, job.id);
    expect(await submitter.closed).toBe(4403);
    await submitter.client.dispose();
  });

  it('refuses a revoked key within 5 s, and ends its open subscriptions', async () => {
    const made = await access.createKey({ tenant: 'acme', scopes: ['read', 'submit'], name: 'to revoke' });
    const caller = { authorization: made.secret };
    const job = await submitOrThrow(app.url, WAITING, caller);
    const watcher = closingClient(app.url, caller);
    const ended = watchUntilEnd(watcher.client, job.id);
    // Known and cached before the revocation.
    expect((await execute(app.url, GetJob, { id: job.id }, caller)).job?.id).toBe(job.id);
    await access.revokeKey(made.key.id);
    const revokedAt = Date.now();
    let status = 200;
    while (status !== 401 && Date.now() - revokedAt < 5_000) {
      status = (await send(app.url, GetJob, { id: job.id }, caller)).status;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(401);
    expect(await watcher.closed).toBe(4401);
    expect(Date.now() - revokedAt).toBeLessThan(5_000);
    await ended;
    await watcher.client.dispose();
    const listed = await access.listKeys('acme');
    expect(listed.find((key) => key.id === made.key.id)?.revokedAt).toBeInstanceOf(Date);
    expect(listed.find((key) => key.id === made.key.id)?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('accepts a JWT of the identity provider, with its tenant and scopes from the claims', async () => {
    const token = await jwt({ sub: 'user-1', tenant: 'acme', scope: 'read submit' });
    const job = await submitOrThrow(app.url, WAITING, { authorization: token });
    // The key of tenant acme sees the job the JWT's holder submitted.
    expect((await execute(app.url, GetJob, { id: job.id }, admin)).job?.id).toBe(job.id);
    const reader = await jwt({ tenant: 'acme', scope: ['read'] });
    expect((await execute(app.url, SubmitJob, { input: WAITING }, { authorization: reader })).submitJob.__typename).toBe('AuthorizationError');
    const otherTenant = await jwt({ tenant: 'globex', scope: 'read' });
    expect((await execute(app.url, GetJob, { id: job.id }, { authorization: otherTenant })).job).toBeNull();
    expect((await execute(app.url, ListJobs, { first: 5 }, { authorization: otherTenant })).jobs.edges).toEqual([]);
  });

  it('refuses a JWT from another issuer, an expired one, and one that names no tenant', async () => {
    const refused = [
      await jwt({ tenant: 'acme', scope: 'read' }, { issuer: 'https://elsewhere.example.com/' }),
      await jwt({ tenant: 'acme', scope: 'read' }, { expiresIn: '-1m' }),
      await jwt({ scope: 'read' }),
      await jwt({ tenant: 'not a tenant!', scope: 'read' }),
    ];
    for (const token of refused) expect((await send(app.url, ListJobs, { first: 1 }, { authorization: token })).status).toBe(401);
  });
});
