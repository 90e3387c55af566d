import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createClient } from 'graphql-ws';
import { print } from 'graphql';
import { JobProgress } from '../graphql/operations.js';
import { submitOrThrow } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rowCounts } from '../support/test-database.js';

const ALLOWED = 'https://app.example.com';
const FOREIGN = 'https://evil.example.net';
const WAITING = { name: 'waiting', tasks: [{ type: 'demo.echo', payload: {}, delayMs: 3_600_000 }] };

const post = (url: string, body: string, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });

/** `job { tasks { edges { node { job { … } } } } }`, nested `levels` times. */
function deepQuery(jobId: string, levels: number): string {
  let inner = 'id';
  for (let level = 0; level < levels; level++) inner = `tasks(first: 2) { edges { node { job { ${inner} } } } }`;
  return `{ job(id: "${jobId}") { ${inner} } }`;
}

describe('the armour in front of execution', () => {
  let app: TestApp;
  let jobId: string;

  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', CORS_ORIGINS: ALLOWED } });
    jobId = (await submitOrThrow(app.url, { name: 'two', tasks: [{ type: 'demo.echo', payload: 1 }, { type: 'demo.echo', payload: 2 }] })).id;
  });
  afterAll(() => app?.stop());

  it('refuses a deep query before any resolver runs, naming the limit', async () => {
    const response = await post(app.url, JSON.stringify({ query: deepQuery(jobId, 19) }));
    const body = (await response.json()) as { data?: unknown; errors: { message: string }[] };
    expect(body.data).toBeUndefined();
    // Its cost, which grows with depth, is past the limit first.
    expect(body.errors[0]?.message).toMatch(/limit of \d+ exceeded/i);
    // Three levels (depth 14) are past the depth limit; two (depth 10) run.
    const three = (await (await post(app.url, JSON.stringify({ query: deepQuery(jobId, 3) }))).json()) as { errors: { message: string }[] };
    expect(three.errors[0]?.message).toMatch(/depth limit of 12/i);
    expect(((await (await post(app.url, JSON.stringify({ query: deepQuery(jobId, 2) }))).json()) as { data?: { job: { id: string } } }).data?.job).toBeTruthy();
  });

  it('refuses 10,000 aliases and a document of too many tokens, naming the limit', async () => {
    const aliases = Array.from({ length: 10_000 }, (_, n) => `a${n}: jobs(first: 500) { edges { node { id } } }`).join(' ');
    const started = Date.now();
    const body = (await (await post(app.url, JSON.stringify({ query: `{ ${aliases} }` }))).json()) as { errors: { message: string }[] };
    expect(body.errors[0]?.message).toMatch(/token limit of 2000/i);
    expect(Date.now() - started).toBeLessThan(2_000);
    const sixteen = Array.from({ length: 16 }, (_, n) => `a${n}: job(id: "${jobId}") { id }`).join(' ');
    const few = (await (await post(app.url, JSON.stringify({ query: `{ ${sixteen} }` }))).json()) as { errors: { message: string }[] };
    expect(few.errors[0]?.message).toMatch(/aliases limit of 15/i);
  });

  it('answers a body over MAX_BODY_BYTES with 413 and one of unknown length with 411, writing nothing', async () => {
    const before = await rowCounts(app.db);
    const huge = JSON.stringify({ query: 'mutation($i: SubmitJobInput!) { submitJob(input: $i) { __typename } }', variables: { i: { name: 'x'.repeat(10 * 1024 * 1024), tasks: [] } } });
    const response = await post(app.url, huge);
    expect(response.status).toBe(413);
    expect(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]?.extensions.code).toBe('BODY_TOO_LARGE');
    const chunked = await new Promise<number>((resolve, reject) => {
      const request = httpRequest(app.url, { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      request.on('error', reject);
      request.end(JSON.stringify({ query: '{ __typename }' }));
    });
    expect(chunked).toBe(411);
    expect(await rowCounts(app.db)).toEqual(before);
  });

  it('takes one operation per request, not a batch', async () => {
    const batch = await post(app.url, JSON.stringify([{ query: '{ __typename }' }, { query: '{ __typename }' }]));
    expect(batch.status).toBe(400);
    expect(JSON.stringify(await batch.json())).not.toContain('"Query"');
  });

  it('closes a WebSocket that sends a message over the limit', async () => {
    const socket = new WebSocket(app.url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    await new Promise((resolve) => socket.once('open', resolve));
    const closed = new Promise<number>((resolve) => socket.once('close', (code) => resolve(code)));
    socket.send('x'.repeat(10 * 1024 * 1024));
    expect(await closed).toBe(1009);
  });

  it('holds one connection to MAX_SUBSCRIPTIONS_PER_CONNECTION subscriptions and stays answering', async () => {
    const waiting = await submitOrThrow(app.url, WAITING);
    const client = createClient({ url: app.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0 });
    const refused: string[] = [];
    const stops: (() => void)[] = [];
    const first = new Promise<void>((resolve) => {
      for (let n = 0; n < 1_000; n++) {
        stops.push(
          client.subscribe(
            { query: print(JobProgress), variables: { jobId: waiting.id } },
            { next: () => resolve(), error: (error) => refused.push(JSON.stringify(error)), complete: () => {} },
          ),
        );
      }
    });
    await first;
    await expect.poll(() => refused.length, { timeout: 10_000 }).toBe(900);
    expect(refused[0]).toContain('TOO_MANY_SUBSCRIPTIONS');
    const probe = Date.now();
    expect((await post(app.url, JSON.stringify({ query: '{ __typename }' }))).status).toBe(200);
    expect(Date.now() - probe).toBeLessThan(500);
    for (const stop of stops) stop();
    await client.dispose();
  });

  it('runs no operation from a form, multipart or text/plain POST, which a foreign page can send without a preflight', async () => {
    const before = await rowCounts(app.db);
    const mutation = 'mutation { submitJob(input: { name: "csrf", tasks: [{ type: "demo.echo", payload: 1 }] }) { __typename } }';
    const form = await fetch(app.url, { method: 'POST', body: new URLSearchParams({ query: mutation }) });
    expect(form.status).toBe(403);
    const multipart = new FormData();
    multipart.set('operations', JSON.stringify({ query: mutation }));
    multipart.set('map', '{}');
    expect((await fetch(app.url, { method: 'POST', body: multipart })).status).toBe(403);
    expect((await fetch(app.url, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: JSON.stringify({ query: mutation }) })).status).toBe(403);
    expect((await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`)).status).toBe(403);
    expect(await rowCounts(app.db)).toEqual(before);
    // With the header such a page cannot send, a GET runs.
    expect((await fetch(`${app.url}?query=${encodeURIComponent('{ __typename }')}`, { headers: { 'x-graphql-csrf': '1' } })).status).toBe(200);
  });

  it('answers CORS for the listed origins only, never with credentials', async () => {
    const preflight = (origin: string) =>
      fetch(app.url, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type, authorization' } });
    const allowed = await preflight(ALLOWED);
    expect(allowed.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect(allowed.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(allowed.headers.get('access-control-allow-credentials')).toBeNull();
    const foreign = await preflight(FOREIGN);
    expect(foreign.headers.get('access-control-allow-origin')).toBeNull();
    const simple = await post(app.url, JSON.stringify({ query: '{ __typename }' }), { origin: FOREIGN });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    expect(simple.headers.get('access-control-allow-credentials')).toBeNull();
    // In open mode a page on localhost may call, as a local front end does.
    expect((await preflight('http://localhost:5173')).headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });

  it('refuses a WebSocket from a foreign page, and takes one from a listed origin', async () => {
    const open = (origin: string) =>
      new Promise<string>((resolve) => {
        const socket = new WebSocket(app.url.replace(/^http/, 'ws'), 'graphql-transport-ws', { origin });
        socket.once('open', () => {
          socket.close();
          resolve('open');
        });
        socket.once('unexpected-response', (_request, response) => resolve(String(response.statusCode)));
        socket.once('error', () => resolve('error'));
      });
    expect(await open(FOREIGN)).toBe('403');
    expect(await open(ALLOWED)).toBe('open');
  });

  it('sends the security headers, and serves GraphiQL with every asset from the server itself', async () => {
    const api = await post(app.url, JSON.stringify({ query: '{ __typename }' }));
    expect(api.headers.get('x-content-type-options')).toBe('nosniff');
    expect(api.headers.get('referrer-policy')).toBe('no-referrer');
    const page = await fetch(app.url, { headers: { accept: 'text/html' } });
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("default-src 'none'");
    const html = await page.text();
    // Its scripts and styles are inline: no element loads anything from any host, this one included.
    expect(html).not.toMatch(/(?:src|href)=["'](?:https?:)?\/\//);
    expect(html).not.toMatch(/unpkg\.com|jsdelivr|cdn\./);
    expect(html).toContain('graphql-transport-ws');
  });
});
