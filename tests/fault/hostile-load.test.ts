import { readFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { sql } from 'kysely';
import { createDatabase, type Db } from '../../src/store/database.js';
import { buildJobQl, type BuiltJobQl } from '../../bench/lib/built-jobql.js';
import { killAllJobQlProcesses, startJobQlProcess, type JobQlProcess } from '../support/jobql-process.js';
import { HeapInspector } from '../support/heap-inspector.js';
import { submitOrThrow } from '../support/job-operations.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from '../support/test-database.js';

const HOSTILE_REQUESTS = 10_000;
const DISCONNECTS = 6_000;
/** Hostile clients at once, on the 2-core machines the suite runs on, sharing them with the server. */
const HOSTILE_CLIENTS = 16;
/** The peak RSS allowed while the mix runs; its 3 MB bodies are what take it highest. */
const MAX_RSS_MB = 768;
/** After the disconnects and a full collection, against the same before them: 6,000 kept watches would far exceed it. */
const MAX_HEAP_RISE_MB = 10;
/** The process's pages after that collection: V8 and malloc return freed pages to the system lazily. */
const MAX_RSS_RISE_MB = 60;
/**
 * A probe's median and worst answer times. The same run measured a median of 73 ms on a quiet
 * machine and 127-135 ms on the same machine when loaded: the bounds leave room for that, and
 * still catch a request that holds the event loop (seconds, before the armour).
 */
const MAX_PROBE_MEDIAN_MS = 250;
const MAX_PROBE_MS = 1_500;
/** A request with no answer by then counts as status 0, so that a hang fails with the statuses, not as the test's timeout. */
const REQUEST_TIMEOUT_MS = 30_000;
const NO_ANSWER = 0;
const CONNECTION_FAILED = -1;

async function rssMb(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? NaN) / 1024;
}

const HUGE_ID = 'J'.repeat(3 * 1024 * 1024);

const median = (values: readonly number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/** The bodies of the hostile mix, made once: deep, wide, aliased, huge, malformed. */
function hostileBodies(jobId: string): { label: string; body: string }[] {
  let deep = 'id';
  for (let level = 0; level < 19; level++) deep = `tasks(first: 2) { edges { node { job { ${deep} } } } }`;
  // As text: JSON.stringify would overflow the stack on it too.
  const nested = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
  const submit = 'mutation S($i: SubmitJobInput!) { submitJob(input: $i) { __typename } }';
  const query = (text: string, variables: unknown = {}) => JSON.stringify({ query: text, variables });
  return [
    { label: 'deep', body: query(`{ job(id: "${jobId}") { ${deep} } }`) },
    { label: 'wide', body: query(`{ ${Array.from({ length: 15 }, (_, n) => `a${n}: jobs(first: 500) { edges { node { id name tasks(first: 100) { edges { node { id } } } } } }`).join(' ')} }`) },
    { label: '10,000 aliases', body: query(`{ ${Array.from({ length: 10_000 }, (_, n) => `a${n}: jobs(first: 500) { edges { node { id } } }`).join(' ')} }`) },
    { label: '3 MB variable', body: query(submit, { i: { name: 'x'.repeat(3 * 1024 * 1024), tasks: [{ type: 'demo.echo', payload: 1 }] } }) },
    { label: 'payload 5,000 deep', body: `{"query": ${JSON.stringify(submit)}, "variables": {"i": {"name": "n", "tasks": [{"type": "demo.echo", "payload": ${nested}}]}}}` },
    { label: '5,000 fragments in a cycle', body: query(`{ ...F0 } ${Array.from({ length: 5_000 }, (_, n) => `fragment F${n} on Query { ...F${(n + 1) % 5_000} }`).join(' ')}`) },
    { label: 'malformed JSON', body: '{"query": "{ __typename }", "variables": {' },
    { label: 'not GraphQL', body: query('}}}} query ((((') },
  ];
}

/** Announces a 10 MB body and sends its first kilobyte: the answer (413) comes before the rest would. */
function announcedHugeBody(url: string): Promise<number> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      resolve(NO_ANSWER);
      sent.destroy();
    }, REQUEST_TIMEOUT_MS);
    const sent = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(10 * 1024 * 1024) } }, (response) => {
      clearTimeout(timer);
      response.resume();
      resolve(response.statusCode ?? NO_ANSWER);
      sent.destroy();
    });
    sent.on('error', () => {
      clearTimeout(timer);
      resolve(CONNECTION_FAILED);
    });
    sent.write('x'.repeat(1024));
  });
}

/** The answer's status; NO_ANSWER after REQUEST_TIMEOUT_MS, CONNECTION_FAILED when the connection failed. */
const post = (url: string, body: string): Promise<number> =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }).then(
    async (response) => {
      await response.arrayBuffer();
      return response.status;
    },
    (error: unknown) => (error instanceof Error && error.name === 'TimeoutError' ? NO_ANSWER : CONNECTION_FAILED),
  );

/** Opens a graphql-ws connection, subscribes, and drops the TCP connection without a close frame. */
function abruptSubscriber(url: string, jobId: string): Promise<void> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws');
    const end = () => {
      socket.terminate();
      resolve();
    };
    const timer = setTimeout(end, 5_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: {} })));
    socket.on('message', (data) => {
      const message = JSON.parse(String(data)) as { type: string };
      if (message.type === 'connection_ack') {
        socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription($j: ID!) { jobProgress(jobId: $j) { id } }', variables: { j: jobId } } }));
      } else if (message.type === 'next') {
        clearTimeout(timer);
        end();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      resolve();
    });
  });
}

async function inParallel(count: number, lanes: number, task: (n: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: lanes }, async () => {
      for (let n = next++; n < count; n = next++) await task(n);
    }),
  );
}

describe('the server under hostile load', () => {
  let server: JobQlProcess;
  let built: BuiltJobQl;
  const schema = newSchemaName('hostile');

  let db: Db;
  let inspector: HeapInspector;
  /** Transactions committed in the test database so far (the statistics lag by up to a second). */
  const committed = async () =>
    Number((await sql<{ n: string }>`select xact_commit as n from pg_stat_database where datname = current_database()`.execute(db)).rows[0]?.n ?? NaN);

  beforeAll(async () => {
    db = createDatabase({ connectionString: TEST_DATABASE_URL, maxConnections: 1 });
    // The JavaScript a deployment runs (the image's): tsx alone would add about 100 MB.
    built = await buildJobQl();
    // Without a rate limit: it would refuse most of this cheaply, and the test is of what the server does with each request.
    server = await startJobQlProcess('api', {
      DATABASE_URL: TEST_DATABASE_URL,
      DATABASE_SCHEMA: schema,
      QUEUE_ADAPTER: 'postgres',
      RATE_LIMIT_REQUESTS_PER_MINUTE: '0',
      SUBSCRIPTION_RESYNC_MS: '500',
    }, { builtIn: built, nodeArgs: ['--inspect=127.0.0.1:0'] });
    inspector = await HeapInspector.connect(server.output());
  });
  afterAll(async () => {
    inspector?.close();
    killAllJobQlProcesses();
    await db?.destroy();
    await built?.remove();
    await dropSchema(schema);
  });

  it(`holds no more memory, and reads nothing for vanished clients, after ${DISCONNECTS} abrupt WebSocket disconnects`, async () => {
    const pid = server.child.pid ?? 0;
    const job = await submitOrThrow(server.url, { name: 'watched', tasks: [{ type: 'demo.echo', payload: 1, delayMs: 3_600_000 }] });
    // A first round makes what a connection lazily allocates once; the baseline is after it.
    await inParallel(500, 50, () => abruptSubscriber(server.url, job.id));
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const baseline = await inspector.collectedMemory();
    await inParallel(DISCONNECTS, 50, () => abruptSubscriber(server.url, job.id));
    const peakRss = await rssMb(pid);
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const idleRss = await rssMb(pid);
    const after = await inspector.collectedMemory();
    // A watch left behind by a vanished client would read the store at every resync: none may.
    const before = await committed();
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const perSecond = ((await committed()) - before) / 3;
    console.log(`[disconnects] ${JSON.stringify({ baseline, peakRssMb: Math.round(peakRss), idleRssMb: Math.round(idleRss), after, statementsPerSecond: perSecond })}`);
    expect(server.child.exitCode).toBeNull();
    expect(perSecond).toBeLessThan(20);
    // What is still referenced once garbage is collected: one watch, socket or listener kept per
    // client would be 6,000 of them (a leak seen before held 140 kB each, 800 MB in all).
    expect(after.heapUsed - baseline.heapUsed).toBeLessThan(MAX_HEAP_RISE_MB);
    expect(after.external - baseline.external).toBeLessThan(MAX_HEAP_RISE_MB);
    expect(after.rss - baseline.rss).toBeLessThan(MAX_RSS_RISE_MB);
  }, 300_000);

  it(`stays under ${MAX_RSS_MB} MB and answers a probe in ${MAX_PROBE_MEDIAN_MS} ms (median) through ${HOSTILE_REQUESTS} hostile requests`, async () => {
    const pid = server.child.pid ?? 0;
    const job = await submitOrThrow(server.url, { name: 'target', tasks: Array.from({ length: 100 }, (_, n) => ({ type: 'demo.echo', payload: n, delayMs: 3_600_000 })) });
    const bodies = hostileBodies(job.id);
    const rss: number[] = [];
    const probes: number[] = [];
    const statuses = new Map<number, number>();
    const probeStatuses = new Map<number, number>();
    let running = true;
    const sampler = (async () => {
      while (running) {
        rss.push(await rssMb(pid));
        const started = performance.now();
        const status = await post(server.url, '{"query":"{ __typename }"}');
        probeStatuses.set(status, (probeStatuses.get(status) ?? 0) + 1);
        probes.push(performance.now() - started);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    await inParallel(HOSTILE_REQUESTS, HOSTILE_CLIENTS, async (n) => {
        const kind = n % (bodies.length + 2);
      const status = await (kind === bodies.length
        ? announcedHugeBody(server.url)
        : kind === bodies.length + 1
          ? // Each a document never seen before, so that no cache of parsed documents may keep them.
            post(server.url, `{"query": "{ job(id: \\"${HUGE_ID}${n}\\") { id } }"}`)
          : post(server.url, bodies[kind]?.body ?? ''));
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
    running = false;
    await sampler;
    const summary = { peakRssMb: Math.round(Math.max(...rss)), probeMedianMs: median(probes).toFixed(1), probeMaxMs: Math.max(...probes).toFixed(1), probes: probes.length, statuses: Object.fromEntries(statuses), probeStatuses: Object.fromEntries(probeStatuses) };
    console.log(`[hostile] ${JSON.stringify(summary)}`);
    expect(server.child.exitCode).toBeNull();
    expect([...statuses.keys()].every((status) => status >= 200 && status < 500)).toBe(true);
    expect([...probeStatuses.keys()]).toEqual([200]);
    expect(Math.max(...rss)).toBeLessThan(MAX_RSS_MB);
    expect(median(probes)).toBeLessThan(MAX_PROBE_MEDIAN_MS);
    expect(Math.max(...probes)).toBeLessThan(MAX_PROBE_MS);
  }, 300_000);

});
