import { builder } from '../builder.js';
import { COMMAND_ERRORS } from './errors.js';
import { actorOf } from '../../src/access/index.js';
import { RATE_LIMIT_BOUNDS, type QueueView, type RateLimit, type WorkerRecord } from '../../src/service/index.js';

const WorkerStateEnum = builder.enumType('WorkerState', {
  values: {
    ALIVE: { description: 'It heartbeated within its lease.' },
    LOST: { description: 'Silent for longer than its lease: its process died or hangs. Its attempts are re-queued when their leases expire.' },
    STOPPED: { description: 'It stopped cleanly.' },
  } as const,
});

const ServedQueueRef = builder.objectRef<WorkerRecord['queues'][number]>('ServedQueue').implement({
  fields: (t) => ({
    name: t.exposeString('name'),
    slots: t.exposeInt('slots', { description: 'The slots its tasks run in on this worker; queues without slots of their own share them.' }),
  }),
});

const WorkerRef = builder.objectRef<WorkerRecord>('Worker').implement({
  description: 'A worker process, as it registered and last heartbeated (every 500 ms) in the store.',
  fields: (t) => ({
    id: t.exposeString('id'),
    host: t.exposeString('host'),
    pid: t.exposeInt('pid'),
    version: t.exposeString('version'),
    queues: t.field({ type: [ServedQueueRef], resolve: (worker) => worker.queues }),
    slots: t.exposeInt('slots'),
    running: t.exposeInt('running', { description: 'Attempts it was running at its last heartbeat.' }),
    leaseMs: t.exposeInt('leaseMs'),
    startedAt: t.field({ type: 'DateTime', resolve: (worker) => worker.startedAt }),
    lastHeartbeatAt: t.field({ type: 'DateTime', resolve: (worker) => worker.lastHeartbeatAt }),
    stoppedAt: t.field({ type: 'DateTime', nullable: true, resolve: (worker) => worker.stoppedAt }),
    state: t.field({ type: WorkerStateEnum, resolve: (worker) => worker.state }),
  }),
});

const RateLimitScopeEnum = builder.enumType('RateLimitScope', {
  values: {
    QUEUE: { description: "Every task on the queue, whatever its type." },
    TYPE: { description: 'Every task of the type, on whatever queue.' },
  } as const,
});

const RateLimitRef = builder.objectRef<RateLimit>('RateLimit').implement({
  description:
    'At most `maxStarts` attempt starts in each window of `intervalMs` (fixed windows, aligned to the epoch, on the database clock), across every worker and tenant. Enforced when an attempt is claimed: a task over the limit stays QUEUED, due at the start of the next window.',
  fields: (t) => ({
    scope: t.field({ type: RateLimitScopeEnum, resolve: (limit) => limit.scope }),
    name: t.exposeString('name', { description: "The queue's name, or the task type's." }),
    maxStarts: t.exposeInt('maxStarts'),
    intervalMs: t.exposeInt('intervalMs'),
    setBy: t.exposeString('setBy', { description: 'Who set it: the caller\'s key or subject.' }),
    updatedAt: t.field({ type: 'DateTime', resolve: (limit) => limit.updatedAt }),
  }),
});

const SetRateLimitInput = builder.inputType('SetRateLimitInput', {
  fields: (t) => ({
    scope: t.field({ type: RateLimitScopeEnum, required: true }),
    name: t.string({ required: true, description: "The queue's name, or the task type's." }),
    maxStarts: t.int({ required: true, description: `1 to ${RATE_LIMIT_BOUNDS.maxStarts}.` }),
    intervalMs: t.int({ required: true, description: `The window, ${RATE_LIMIT_BOUNDS.minIntervalMs} ms to ${RATE_LIMIT_BOUNDS.maxIntervalMs} ms (a week).` }),
  }),
});

const AttemptCountsRef = builder.objectRef<QueueView['lastMinute']>('AttemptCounts').implement({
  description:
    "Attempts of every tenant's tasks on a queue in a recent window: maintained by each worker in memory and written with its heartbeat (every 500 ms), summed over the workers; a worker that died loses what it counted since its last heartbeat. Counted in 10 s buckets for the last minute and 1 min buckets for the last hour, so a window reaches back up to one bucket further.",
  fields: (t) => ({
    started: t.exposeInt('started'),
    finished: t.exposeInt('finished', { description: 'Ended, whatever the outcome.' }),
    failed: t.exposeInt('failed', { description: 'Ended failed (retried or not).' }),
  }),
});

const QueueRef = builder.objectRef<QueueView>('Queue').implement({
  description: 'A queue: its controls, across tenants, and what the caller\'s tenant has waiting on it. Read from indexes and small tables, not by counting tasks.',
  fields: (t) => ({
    name: t.exposeString('name'),
    paused: t.boolean({ resolve: (queue) => queue.pausedAt !== null, description: 'No worker starts its tasks; submits are still accepted and wait.' }),
    pausedAt: t.field({ type: 'DateTime', nullable: true, resolve: (queue) => queue.pausedAt }),
    oldestQueuedAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'Since when its oldest QUEUED task (of the caller\'s tenant) has been due; exact, from an index.',
      resolve: (queue) => queue.oldestQueuedAt,
    }),
    queued: t.exposeInt('queued', { description: "The caller's tenant's QUEUED tasks on it: exact, counted from the partial index of waiting tasks (its cost follows the waiting tasks, not the finished ones)." }),
    scheduled: t.exposeInt('scheduled', { description: 'Its SCHEDULED tasks (due later), exact, from the same index.' }),
    running: t.exposeInt('running', { description: 'Its RUNNING tasks, exact, from the partial index of running tasks.' }),
    lastMinute: t.field({ type: AttemptCountsRef, resolve: (queue) => queue.lastMinute }),
    lastHour: t.field({ type: AttemptCountsRef, resolve: (queue) => queue.lastHour }),
    parked: t.exposeInt('parked', { description: 'Of its QUEUED tasks, those parked until their concurrency key has room (exact).' }),
    workersAlive: t.exposeInt('workersAlive', { description: 'ALIVE workers that serve it.' }),
    slotsAlive: t.exposeInt('slotsAlive', { description: 'Their slots for it (shared slots counted for each queue that shares them).' }),
    rateLimit: t.field({
      type: RateLimitRef,
      nullable: true,
      description: "The queue's own rate limit; limits on task types are in `rateLimits`.",
      resolve: (queue) => queue.rateLimit,
    }),
    unserved: t.boolean({
      description: 'It has QUEUED tasks, is not paused, and no ALIVE worker serves it: they wait until one starts.',
      resolve: (queue) => queue.oldestQueuedAt !== null && queue.pausedAt === null && queue.workersAlive === 0,
    }),
  }),
});

builder.queryFields((t) => ({
  workers: t.field({
    type: [WorkerRef],
    description: 'The worker processes heard from in the last day, and any still ALIVE, newest first (at most 500).',
    authScopes: { read: true },
    resolve: (_root, _args, context) => context.operations.workers(),
  }),
  queues: t.field({
    type: [QueueRef],
    description: 'Every queue with waiting tasks, served by a worker in the last day, or with controls, by name.',
    authScopes: { read: true },
    resolve: (_root, _args, context) => context.operations.queues(context.principal.tenancy),
  }),
  rateLimits: t.field({
    type: [RateLimitRef],
    description: 'Every rate limit, of queues and of task types.',
    authScopes: { read: true },
    resolve: (_root, _args, context) => context.operations.rateLimits(),
  }),
  queue: t.field({
    type: QueueRef,
    nullable: true,
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => context.operations.queue(context.principal.tenancy, args.name),
  }),
}));

builder.mutationFields((t) => ({
  pauseQueue: t.field({
    type: QueueRef,
    description:
      'Pauses a queue for every tenant: from the commit no worker anywhere claims its tasks; running ones finish; submits are accepted and wait. Kept in the store across restarts.',
    authScopes: { operator: true },
    args: { name: t.arg.string({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'PauseQueueSuccess' }, union: { name: 'PauseQueueResult' }, dataField: { name: 'queue' } },
    resolve: (_root, args, context) => context.operations.pauseQueue(context.principal.tenancy, args.name, actorOf(context.principal)),
  }),
  resumeQueue: t.field({
    type: QueueRef,
    description: 'Resumes a paused queue: the workers that serve it enqueue its waiting tasks again within a second.',
    authScopes: { operator: true },
    args: { name: t.arg.string({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'ResumeQueueSuccess' }, union: { name: 'ResumeQueueResult' }, dataField: { name: 'queue' } },
    resolve: (_root, args, context) => context.operations.resumeQueue(context.principal.tenancy, args.name),
  }),
  setRateLimit: t.field({
    type: RateLimitRef,
    description:
      'Sets the rate limit of a queue or a task type, for every tenant; claims that start after its commit hold to it. The current window keeps its count unless the interval changes.',
    authScopes: { operator: true },
    args: { input: t.arg({ type: SetRateLimitInput, required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'SetRateLimitSuccess' }, union: { name: 'SetRateLimitResult' }, dataField: { name: 'rateLimit' } },
    resolve: (_root, args, context) => context.operations.setRateLimit(args.input, actorOf(context.principal)),
  }),
  removeRateLimit: t.field({
    type: RateLimitRef,
    description: 'Removes the rate limit of a queue or a task type (NotFoundError when it has none). Tasks it held back start when their window comes.',
    authScopes: { operator: true },
    args: { scope: t.arg({ type: RateLimitScopeEnum, required: true }), name: t.arg.string({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'RemoveRateLimitSuccess' }, union: { name: 'RemoveRateLimitResult' }, dataField: { name: 'rateLimit' } },
    resolve: (_root, args, context) => context.operations.removeRateLimit({ scope: args.scope, name: args.name }),
  }),
}));
