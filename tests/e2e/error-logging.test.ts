import { Writable } from 'node:stream';
import { createClient } from 'graphql-ws';
import { encodeGlobalID } from '@pothos/plugin-relay';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseGlobalId } from '../../schema/global-id.js';
import { createProcessLogger } from '../../src/runtime/process-logger.js';
import { submitOrThrow } from '../support/job-operations.js';
import { waitFor } from '../support/jobql-process.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly requestId?: string;
  readonly [field: string]: unknown;
}

/** The process's own logger (JSON, with request ids), its lines kept for the test. */
async function keptLogger(lines: LogLine[]) {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as LogLine);
      done();
    },
  });
  return createProcessLogger({ LOG_LEVEL: 'debug', LOG_FORMAT: 'json', NODE_ENV: undefined }, sink);
}

const ask = (url: string, query: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) });

describe("the server's log", () => {
  let app: TestApp;
  const lines: LogLine[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', AUTH_MODE: 'required' }, logger: await keptLogger(lines) });
  });
  afterAll(() => app?.stop());

  it("keeps the caller's errors (here a missing credential) out of the error level, each line with its request's id", async () => {
    // No credential where one is required: the context refuses it, and yoga masks (and logs) what it throws.
    const response = await ask(app.url, '{ __typename }');
    const refused = (await response.json()) as { errors: { extensions: { code: string } }[] };
    expect(refused.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    const logged = lines.find((line) => line.level === 20 && /A valid API key or token is required/.test(line.msg));
    expect(logged?.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(logged?.requestId).toBe(response.headers.get('x-request-id'));
  });

  it("keeps a caller's own plain X-Request-Id, and replaces one that is not", async () => {
    const kept = await ask(app.url, '{ __typename }', { 'x-request-id': 'checkout-42.a' });
    expect(kept.headers.get('x-request-id')).toBe('checkout-42.a');
    expect(lines.some((line) => line.requestId === 'checkout-42.a')).toBe(true);
    const replaced = await ask(app.url, '{ __typename }', { 'x-request-id': 'x'.repeat(65) });
    expect(replaced.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('the log of graphql-ws operations', () => {
  it("gives each operation's lines the connection's request id and the operation's id", async () => {
    const lines: LogLine[] = [];
    const app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory' }, logger: await keptLogger(lines) });
    try {
      // A socket whose upgrade carries X-Request-Id, as a browser's cannot but a server's can.
      class TaggedSocket extends WebSocket {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols, { headers: { 'x-request-id': 'socket-7' } });
        }
      }
      const client = createClient({ url: app.url.replace(/^http/, 'ws'), webSocketImpl: TaggedSocket, retryAttempts: 0 });
      const errors = await new Promise<unknown>((resolve) => {
        // An unknown job: the subscription's resolver throws NotFoundError, which yoga masks and logs.
        const jobId = encodeGlobalID('Job', '00000000-0000-4000-8000-000000000000');
        client.subscribe({ query: `subscription { jobProgress(jobId: "${jobId}") { __typename } }` }, { next: resolve, error: resolve, complete: () => resolve(undefined) });
      });
      await client.dispose();
      expect(JSON.stringify(errors)).toContain('NOT_FOUND');
      await waitFor('a line of the operation', async () => (lines.some((line) => line.requestId?.startsWith('socket-7:')) ? true : undefined), 5_000);
      // graphql-ws's client numbers its operations with UUIDs.
      expect(lines.find((line) => line.requestId?.startsWith('socket-7:'))?.requestId).toMatch(/^socket-7:[0-9a-f-]{36}$/);
    } finally {
      await app.stop();
    }
  });
});

describe('the log of finished jobs', () => {
  let app: TestApp;
  const lines: LogLine[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory' }, logger: await keptLogger(lines) });
  });
  afterAll(() => app?.stop());

  it('writes one info line per finished job, with its status and its tasks by status', async () => {
    const job = await submitOrThrow(app.url, { name: 'two', tasks: [{ type: 'demo.echo', payload: 1 }, { type: 'demo.echo', payload: 2 }] });
    // The log names the job by its id in the store, as the database and the other lines do.
    const jobId = parseGlobalId(job.id, 'Job');
    const line = await waitFor('the job line', async () => lines.find((l) => l['jobId'] === jobId && l.msg === 'job succeeded'), 10_000);
    expect(line).toMatchObject({ level: 30, status: 'SUCCEEDED', tasks: { SUCCEEDED: 2 } });
    expect(lines.filter((l) => l['jobId'] === jobId && /^job /.test(l.msg))).toHaveLength(1);
  });
});
