import { createHash } from 'node:crypto';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { print } from 'graphql';
import { GetJob, JobProgress, SubmitJob } from '../graphql/operations.js';
import { wsClient } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rowCounts } from '../support/test-database.js';

const WAITING = { name: 'waiting', tasks: [{ type: 'demo.echo', payload: {}, delayMs: 3_600_000 }] };
const hashOf = (document: string) => createHash('sha256').update(document).digest('hex');
const LISTED = [SubmitJob, GetJob, JobProgress].map(print);

const post = (url: string, body: unknown) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }).then(async (response) => ({
    status: response.status,
    body: (await response.json()) as { data?: Record<string, { __typename?: string; job?: { id: string }; id?: string } | null>; errors?: { extensions: { code: string } }[] },
  }));

async function manifest(content: string): Promise<string> {
  const file = path.join(await mkdtemp(path.join(tmpdir(), 'jobql-persisted-')), 'persisted-documents.json');
  await writeFile(file, content);
  return file;
}

describe('PERSISTED_OPERATIONS: only the listed operations run', () => {
  let app: TestApp;

  beforeAll(async () => {
    const file = await manifest(JSON.stringify(Object.fromEntries(LISTED.map((document) => [hashOf(document), document]))));
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', PERSISTED_OPERATIONS: file } });
  });
  afterAll(() => app?.stop());

  it('runs a listed operation named by documentId or by Apollo’s persistedQuery extension', async () => {
    const submitted = await post(app.url, { documentId: hashOf(LISTED[0] ?? ''), variables: { input: WAITING } });
    expect(submitted.body.data?.['submitJob']?.__typename).toBe('SubmitJobSuccess');
    const jobId = submitted.body.data?.['submitJob']?.job?.id;
    const read = await post(app.url, { extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(LISTED[1] ?? '') } }, variables: { id: jobId } });
    expect(read.body.data?.['job']?.id).toBe(jobId);
  });

  it('refuses a document of the caller’s own, an unknown id and no id, with typed errors, writing nothing', async () => {
    const before = await rowCounts(app.db);
    const own = await post(app.url, { query: print(SubmitJob), variables: { input: WAITING } });
    expect(own.status).toBe(400);
    expect(own.body.errors?.[0]?.extensions.code).toBe('PERSISTED_QUERY_ONLY');
    const unknown = await post(app.url, { documentId: hashOf('{ __typename }') });
    expect(unknown.body.errors?.[0]?.extensions.code).toBe('PERSISTED_QUERY_NOT_FOUND');
    const none = await post(app.url, { variables: {} });
    expect(none.body.errors?.[0]?.extensions.code).toBe('PERSISTED_QUERY_ID_REQUIRED');
    expect(await rowCounts(app.db)).toEqual(before);
  });

  it('holds graphql-ws operations to the same list', async () => {
    const submitted = await post(app.url, { documentId: hashOf(LISTED[0] ?? ''), variables: { input: WAITING } });
    const jobId = submitted.body.data?.['submitJob']?.job?.id;
    const client = wsClient(app.url);
    const answer = (payload: { query: string; extensions?: Record<string, unknown> }) =>
      new Promise<string>((resolve) => {
        const stop = client.subscribe(
          { ...payload, variables: { jobId } },
          {
            next: () => {
              stop();
              resolve('event');
            },
            error: (error) => resolve(JSON.stringify(error)),
            complete: () => resolve('complete'),
          },
        );
      });
    expect(await answer({ query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hashOf(LISTED[2] ?? '') } } })).toBe('event');
    expect(await answer({ query: print(JobProgress) })).toContain('PERSISTED_QUERY_ONLY');
    expect(await answer({ query: '', extensions: { persistedQuery: { version: 1, sha256Hash: hashOf('x') } } })).toContain('PERSISTED_QUERY_NOT_FOUND');
    await client.dispose();
  });

  it('refuses to start on a list that is not an object of documents', async () => {
    const file = await manifest('["{ __typename }"]');
    await expect(startTestApp({ env: { QUEUE_ADAPTER: 'memory', PERSISTED_OPERATIONS: file } })).rejects.toThrow(/PERSISTED_OPERATIONS: .* must hold a JSON object/);
  });
});
