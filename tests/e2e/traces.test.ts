import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/**
 * With an SDK registered, a request's span, its `jobql.submitJob`, each `jobql.attempt` and each
 * `jobql.handler` make one trace; the attempts continue the submission's context from the store.
 * Without one, nothing is stored.
 */

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.stop();
  trace.disable();
  context.disable();
  propagation.disable();
});

function registerSdk(): InMemorySpanExporter {
  const exporter = new InMemorySpanExporter();
  trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  return exporter;
}

const parentOf = (span: ReadableSpan): string | undefined => span.parentSpanContext?.spanId;

const ADAPTERS: { adapter: string; env: Record<string, string> }[] = [
  { adapter: 'postgres', env: { QUEUE_ADAPTER: 'postgres' } },
  { adapter: 'redis', env: { QUEUE_ADAPTER: 'redis', REDIS_URL: TEST_REDIS_URL } },
];

describe.each(ADAPTERS)('traces on $adapter', ({ env }) => {
  it('make one trace of a request, its submission, every attempt and every handler', async () => {
    const exporter = registerSdk();
    const app = await startTestApp({ env });
    apps.push(app);
    const tasks = [{ type: 'demo.echo', payload: 1 }, { type: 'demo.fail', payload: { times: 1 }, backoff: { type: 'FIXED' as const, delayMs: 10 } }];
    const job = await trace.getTracer('test').startActiveSpan('request', async (span) => {
      try {
        return await app.service.submitJob({ tenant: 'default' }, { name: 'traced', tasks });
      } finally {
        span.end();
      }
    });
    const succeeded = async () =>
      (await sql<{ n: number }>`select count(*)::int as n from tasks where job_id = ${job.id} and status = 'SUCCEEDED'`.execute(app.db)).rows[0]?.n;
    await expect.poll(succeeded, { timeout: 10_000 }).toBe(2);
    await expect.poll(() => exporter.getFinishedSpans().filter((span) => span.name === 'jobql.attempt').length, { timeout: 5_000 }).toBe(3);

    const spans = exporter.getFinishedSpans();
    const request = spans.find((span) => span.name === 'request')!;
    const submit = spans.find((span) => span.name === 'jobql.submitJob')!;
    const attempts = spans.filter((span) => span.name === 'jobql.attempt');
    const handlers = spans.filter((span) => span.name === 'jobql.handler');
    const traceId = request.spanContext().traceId;
    expect([submit, ...attempts, ...handlers].every((span) => span.spanContext().traceId === traceId)).toBe(true);
    expect(parentOf(submit)).toBe(request.spanContext().spanId);
    expect(attempts.every((span) => parentOf(span) === submit.spanContext().spanId)).toBe(true);
    expect(handlers.map(parentOf).sort()).toEqual(attempts.map((span) => span.spanContext().spanId).sort());
    // The failing task's first attempt, and its handler, end in error.
    expect(attempts.filter((span) => span.status.code === 2).map((span) => span.attributes['jobql.task.type'])).toEqual(['demo.fail']);
    const { rows: stored } = await sql<{ traceParent: string }>`select distinct trace_parent from tasks where job_id = ${job.id}`.execute(app.db);
    expect(stored).toEqual([{ traceParent: `00-${traceId}-${submit.spanContext().spanId}-01` }]);
  });
});

describe('without an SDK', () => {
  it('stores no trace context and records nothing', async () => {
    const app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory' } });
    apps.push(app);
    const job = await app.service.submitJob({ tenant: 'default' }, { name: 'untraced', tasks: [{ type: 'demo.echo', payload: 1 }] });
    const { rows } = await sql<{ traceParent: string | null }>`select trace_parent from tasks where job_id = ${job.id}`.execute(app.db);
    expect(rows).toEqual([{ traceParent: null }]);
  });
});
