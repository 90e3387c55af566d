import { Writable } from 'node:stream';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { HealthReport } from '../../src/health/process-health.js';
import { startJobQl, type JobQl } from '../../src/runtime/start-jobql.js';
import { execute } from '../support/graphql-client.js';
import { waitFor } from '../support/jobql-process.js';
import { startRedisServer, type RedisServer } from '../support/redis-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from '../support/test-database.js';
import { Health } from '../graphql/operations.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

const baseOf = (url: string): string => new URL(url).origin;

async function ready(base: string): Promise<{ status: number; report: HealthReport }> {
  const response = await fetch(`${base}/health/ready`);
  return { status: response.status, report: (await response.json()) as HealthReport };
}

/** Polls readiness until it answers `status`, and returns that answer. */
const readyBecomes = (base: string, status: number, timeoutMs = 15_000) =>
  waitFor(`/health/ready to answer ${status}`, async () => {
    const answer = await ready(base);
    return answer.status === status ? answer : undefined;
  }, timeoutMs, 200);

const failing = (report: HealthReport): string[] => report.checks.filter((check) => !check.ok).map((check) => check.name);

async function app(options: Parameters<typeof startTestApp>[0]): Promise<TestApp> {
  const started = await startTestApp(options);
  cleanups.push(() => started.stop());
  return started;
}

describe('health', () => {
  it('an API with a worker is live and ready, with each check named, over HTTP and GraphQL', async () => {
    const { url } = await app({});
    const base = baseOf(url);
    const live = await fetch(`${base}/health/live`);
    expect(live.status).toBe(200);
    expect(live.headers.get('cache-control')).toBe('no-store');
    expect(await live.json()).toEqual({ status: 'LIVE' });
    const { status, report } = await ready(base);
    expect(status).toBe(200);
    expect(report.status).toBe('READY');
    expect(report.checks.map((check) => [check.name, check.ok])).toEqual([
      ['database', true],
      ['migrations', true],
      ['eventBus', true],
      ['worker', true],
    ]);
    const { health } = await execute(url, Health, {});
    expect(health.ready).toBe(true);
    expect(health.checks.map((check) => check.name)).toEqual(['database', 'migrations', 'eventBus', 'worker']);
    expect((await fetch(`${base}/health/ready`, { method: 'POST' })).status).toBe(405);
  });

  it('a worker serves the probes and nothing else', async () => {
    const worker = await app({ role: 'worker' });
    expect(worker.url).toMatch(/\/health\/live$/);
    const base = baseOf(worker.url);
    expect((await ready(base)).status).toBe(200);
    expect((await fetch(`${base}/graphql`)).status).toBe(404);
  });

  it('is not ready while its PostgreSQL cannot be reached, and ready again once it can', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(TEST_DATABASE_URL).port || 5432) });
    cleanups.push(() => proxy.close());
    const { url } = await app({ env: { DATABASE_URL: proxy.relayUrl(TEST_DATABASE_URL) } });
    const base = baseOf(url);
    await readyBecomes(base, 200);
    proxy.cut();
    const down = await readyBecomes(base, 503);
    expect(down.report.status).toBe('NOT_READY');
    expect(failing(down.report)).toEqual(expect.arrayContaining(['database', 'migrations']));
    // Still live: an orchestrator must not restart a process for its database's outage.
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    proxy.restore();
    expect((await readyBecomes(base, 200)).report.status).toBe('READY');
  }, 60_000);

  it('is not ready while its Redis is down, naming it, and ready again once it is back', async () => {
    const redis: RedisServer = await startRedisServer();
    cleanups.push(() => redis.stop());
    const { url } = await app({ env: { QUEUE_ADAPTER: 'redis', REDIS_URL: redis.url } });
    const base = baseOf(url);
    expect((await ready(base)).report.checks.map((check) => check.name)).toContain('redis');
    await redis.stop();
    const down = await readyBecomes(base, 503);
    expect(failing(down.report)).toEqual(expect.arrayContaining(['redis', 'eventBus']));
    expect(failing(down.report)).not.toContain('database');
    await redis.start();
    await readyBecomes(base, 200);
  }, 60_000);

  it('waits for a PostgreSQL that is down at start, live and not ready meanwhile, then starts', async () => {
    const proxy = await TcpProxy.start({ host: '127.0.0.1', port: Number(new URL(TEST_DATABASE_URL).port || 5432) }, { refusing: true });
    cleanups.push(() => proxy.close());
    const schema = newSchemaName('health');
    cleanups.push(() => dropSchema(schema));
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => void (lines.push(String(chunk)), done()) }));
    const config = loadConfig({ DATABASE_URL: proxy.relayUrl(TEST_DATABASE_URL), DATABASE_SCHEMA: schema, PORT: '0', HOST: '127.0.0.1' });
    let started: JobQl | undefined;
    const starting = startJobQl({ config, logger }).then((app) => (started = app));
    cleanups.push(async () => {
      proxy.restore();
      await (await starting).stop();
    });
    const health = await waitFor('the listening line', async () => lines.map((line) => /"health":"(http:[^"]+)"/.exec(line)?.[1]).find(Boolean), 10_000);
    const base = baseOf(health);
    const waiting = await waitFor('a retry', async () => {
      const answer = await ready(base);
      return answer.report.checks[0]?.message?.startsWith('waiting for PostgreSQL') ? answer : undefined;
    }, 10_000);
    expect(waiting.status).toBe(503);
    expect(waiting.report.status).toBe('STARTING');
    expect((await fetch(`${base}/health/live`)).status).toBe(200);
    const early = await fetch(`${base}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"query":"{ __typename }"}' });
    expect(early.status).toBe(503);
    expect(early.headers.get('retry-after')).toBe('1');
    expect(started).toBeUndefined();
    proxy.restore();
    const app = await starting;
    expect(app.url).toBe(`${base}/graphql`);
    expect((await ready(base)).status).toBe(200);
    expect(lines.some((line) => line.includes('PostgreSQL cannot be reached yet'))).toBe(true);
  }, 60_000);
});
