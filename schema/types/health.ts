import { builder } from '../builder.js';
import type { CheckResult, HealthReport } from '../../src/health/process-health.js';

const HealthStatusEnum = builder.enumType('HealthStatus', {
  values: {
    STARTING: { description: 'Start-up has not finished; the one check, `startup`, says what it waits for.' },
    READY: { description: 'Every check passed.' },
    NOT_READY: { description: 'At least one check failed.' },
    STOPPING: { description: 'The process is draining before it exits.' },
  } as const,
});

const HealthCheckRef = builder.objectRef<CheckResult>('HealthCheck').implement({
  description: 'One thing the answering process needs to do its work.',
  fields: (t) => ({
    name: t.exposeString('name', { description: '`database`, `migrations`, `redis`, `eventBus`, `worker`, or `startup`.' }),
    ok: t.exposeBoolean('ok'),
    message: t.exposeString('message', { nullable: true, description: 'Why it failed: a short reason or an error code.' }),
    durationMs: t.exposeInt('durationMs'),
  }),
});

export const HealthRef = builder.objectRef<HealthReport>('Health').implement({
  description: 'What `GET /health/ready` of the answering process reports, checked at most once a second.',
  fields: (t) => ({
    ready: t.exposeBoolean('ready'),
    status: t.field({ type: HealthStatusEnum, resolve: (report) => report.status }),
    checks: t.field({ type: [HealthCheckRef], resolve: (report) => report.checks }),
  }),
});

builder.queryField('health', (t) =>
  t.field({
    type: HealthRef,
    description: 'The readiness of the process that answers (one API process of possibly many).',
    authScopes: { read: true },
    resolve: (_root, _args, context) => context.health.report(),
  }),
);
