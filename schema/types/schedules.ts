import { builder } from '../builder.js';
import { COMMAND_ERRORS } from './errors.js';
import { JobRef } from './job.js';
import { SubmitJobInputRef, withoutNulls } from '../mutations/submit-job.js';
import { SCHEDULE_BOUNDS, type ScheduleRecord, type SubmitJobInput } from '../../src/service/index.js';

const MissedTicksEnum = builder.enumType('MissedTicks', {
  description: 'What becomes of ticks missed while nothing ran (a tick is missed when it is more than 30 s old before it is submitted).',
  values: {
    SKIP: { description: 'They are dropped; the schedule goes on from the next tick.' },
    RUN_ONCE: { description: 'One job is submitted for them, for the latest.' },
    RUN_ALL: { description: 'One job per missed tick, the latest `missedLimit` of them, oldest first.' },
  } as const,
});

const ScheduleSourceEnum = builder.enumType('ScheduleSource', {
  values: {
    CODE: { description: 'Declared with defineSchedule; every start writes it again.' },
    API: { description: 'Written with upsertSchedule.' },
  } as const,
});

const ScheduleRef = builder.objectRef<ScheduleRecord>('Schedule').implement({
  description:
    "A cron schedule of the caller's tenant. Each tick submits its job once, whatever the number of workers or their restarts: the job's idempotency key is `schedule:<name>:<tick>`, and its metadata holds `schedule: {name, tick}`.",
  fields: (t) => ({
    name: t.exposeString('name'),
    cron: t.exposeString('cron', { description: 'Five fields, or six with seconds first.' }),
    timeZone: t.exposeString('timeZone'),
    job: t.field({ type: 'JSON', description: 'The submission each tick makes.', resolve: (schedule) => schedule.job }),
    missedTicks: t.field({ type: MissedTicksEnum, resolve: (schedule) => schedule.missedTicks }),
    missedLimit: t.exposeInt('missedLimit'),
    source: t.field({ type: ScheduleSourceEnum, resolve: (schedule) => schedule.source }),
    paused: t.boolean({ resolve: (schedule) => schedule.pausedAt !== null }),
    pausedAt: t.field({ type: 'DateTime', nullable: true, resolve: (schedule) => schedule.pausedAt }),
    nextRunAt: t.field({
      type: 'DateTime',
      nullable: true,
      description: 'The next tick to submit (while paused, the one it paused at); null when the expression has no more.',
      resolve: (schedule) => schedule.nextRunAt,
    }),
    lastRunAt: t.field({ type: 'DateTime', nullable: true, description: 'The last tick submitted.', resolve: (schedule) => schedule.lastRunAt }),
    lastJob: t.field({
      type: JobRef,
      nullable: true,
      description: "The job of the last tick submitted (null once it is removed by retention).",
      resolve: (schedule) => schedule.lastJobId,
    }),
    createdAt: t.field({ type: 'DateTime', resolve: (schedule) => schedule.createdAt }),
    updatedAt: t.field({ type: 'DateTime', resolve: (schedule) => schedule.updatedAt }),
  }),
});

const UpsertScheduleInput = builder.inputType('UpsertScheduleInput', {
  fields: (t) => ({
    name: t.string({ required: true, description: 'Letters, digits and `. _ : -`, up to 100.' }),
    cron: t.string({ required: true, description: 'Five fields, or six with seconds first; `@hourly`, `@daily` and the like.' }),
    timeZone: t.string({ required: false, description: 'IANA, such as `Europe/Paris`. Defaults to UTC.' }),
    job: t.field({ type: SubmitJobInputRef, required: true, description: 'Checked as submitJob would check it; its idempotencyKey is replaced by the tick\'s.' }),
    missedTicks: t.field({ type: MissedTicksEnum, required: false, description: 'Defaults to SKIP.' }),
    missedLimit: t.int({ required: false, description: `RUN_ALL's most jobs, 1 to ${SCHEDULE_BOUNDS.maxMissedLimit}; defaults to ${SCHEDULE_BOUNDS.defaultMissedLimit}.` }),
  }),
});

builder.queryFields((t) => ({
  schedules: t.field({
    type: [ScheduleRef],
    description: "The caller's tenant's schedules, by name.",
    authScopes: { read: true },
    resolve: (_root, _args, context) => context.schedules.list(context.principal.tenancy),
  }),
  schedule: t.field({
    type: ScheduleRef,
    nullable: true,
    authScopes: { read: true },
    args: { name: t.arg.string({ required: true }) },
    resolve: (_root, args, context) => context.schedules.get(context.principal.tenancy, args.name),
  }),
}));

builder.mutationFields((t) => ({
  upsertSchedule: t.field({
    type: ScheduleRef,
    description: 'Creates or replaces a schedule of the tenant. Its next tick is the first after now, unless the expression, zone and job are unchanged; a pause is kept.',
    authScopes: { admin: true },
    args: { input: t.arg({ type: UpsertScheduleInput, required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'UpsertScheduleSuccess' }, union: { name: 'UpsertScheduleResult' }, dataField: { name: 'schedule' } },
    resolve: (_root, { input }, context) => {
      const { job, ...rest } = withoutNulls(input);
      return context.schedules.upsert(context.principal.tenancy, { ...rest, job: job as SubmitJobInput });
    },
  }),
  deleteSchedule: t.field({
    type: ScheduleRef,
    description: 'Removes a schedule; the jobs it submitted stay.',
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'DeleteScheduleSuccess' }, union: { name: 'DeleteScheduleResult' }, dataField: { name: 'schedule' } },
    resolve: (_root, args, context) => context.schedules.delete(context.principal.tenancy, args.name),
  }),
  pauseSchedule: t.field({
    type: ScheduleRef,
    description: 'Stops submitting its ticks until it is resumed; the ticks in between are skipped.',
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'PauseScheduleSuccess' }, union: { name: 'PauseScheduleResult' }, dataField: { name: 'schedule' } },
    resolve: (_root, args, context) => context.schedules.pause(context.principal.tenancy, args.name),
  }),
  resumeSchedule: t.field({
    type: ScheduleRef,
    description: 'Submits its ticks again, from the first after now.',
    authScopes: { admin: true },
    args: { name: t.arg.string({ required: true }) },
    errors: { types: COMMAND_ERRORS, result: { name: 'ResumeScheduleSuccess' }, union: { name: 'ResumeScheduleResult' }, dataField: { name: 'schedule' } },
    resolve: (_root, args, context) => context.schedules.resume(context.principal.tenancy, args.name),
  }),
}));
