import type { Logger } from 'pino';
import { z } from 'zod';
import { planTicks } from '../domain/schedule-ticks.js';
import type { Tenancy } from '../domain/tenancy.js';
import { IdempotencyConflictError, NotFoundError, ValidationError, toError, type FieldIssue } from '../errors/index.js';
import type { Db, MissedTicks, ScheduleSource } from '../store/database.js';
import type { JobRecord } from '../store/records.js';
import {
  advanceSchedule,
  deleteSchedule,
  dueSchedules,
  findSchedule,
  listSchedules,
  setSchedulePaused,
  upsertSchedule,
  type ScheduleRecord,
} from '../store/schedules.js';
import { CronExpression } from './cron-expression.js';
import type { JobService } from './job-service.js';
import { queueNameSchema } from './queue-name.js';
import { unstorableIssues } from './storable-values.js';
import type { SubmitJobInput } from './submit-input.js';

/** A schedule as given: in code (`defineSchedule`) or through `upsertSchedule`. */
export interface ScheduleInput {
  readonly name: string;
  /** Five fields, or six with seconds first; `@hourly` and the like. */
  readonly cron: string;
  /** IANA; UTC unless given. */
  readonly timeZone?: string;
  /** What each tick submits; its idempotency key is replaced by the schedule's and the tick's. */
  readonly job: SubmitJobInput;
  /** What becomes of ticks missed while nothing ran: SKIP unless given. */
  readonly missedTicks?: MissedTicks;
  /** RUN_ALL's most jobs for missed ticks, the latest ones; 10 unless given. */
  readonly missedLimit?: number;
}

export const SCHEDULE_BOUNDS = { maxMissedLimit: 1_000, defaultMissedLimit: 10 } as const;

/** The most due schedules one pass submits; the next pass takes the rest. */
const DUE_PER_PASS = 100;

const missedLimitSchema = z.number().int().min(1).max(SCHEDULE_BOUNDS.maxMissedLimit);

export interface ScheduleServiceOptions {
  readonly db: Db;
  readonly jobs: JobService;
  readonly logger: Logger;
  /** A tick older than this when it is submitted was missed: nothing ran then. */
  readonly missedAfterMs: number;
}

/**
 * A tenant's cron schedules: kept in the store, each tick submitted once through the job service
 * by whichever process gets to it (`submitDue`, run by every worker process): the job's
 * idempotency key is the schedule's name and the tick, so a tick submitted twice (two processes,
 * or one that died before it moved the schedule on) is one job, and the schedule moves on only
 * from the revision and tick it was read at.
 */
export class ScheduleService {
  constructor(private readonly options: ScheduleServiceOptions) {}

  list(tenancy: Tenancy): Promise<ScheduleRecord[]> {
    return listSchedules(this.options.db, tenancy.tenant);
  }

  async get(tenancy: Tenancy, name: string): Promise<ScheduleRecord | null> {
    if (!isScheduleName(name)) return null;
    return (await findSchedule(this.options.db, tenancy.tenant, name)) ?? null;
  }

  /** Creates or replaces a schedule after checking it whole: the expression, the zone and the job as a submission. */
  async upsert(tenancy: Tenancy, input: ScheduleInput, source: ScheduleSource = 'API'): Promise<ScheduleRecord> {
    const unstorable = unstorableIssues({ name: input.name, cron: input.cron, timeZone: input.timeZone });
    if (unstorable.length > 0) throw new ValidationError(unstorable);
    const issues: FieldIssue[] = [];
    const name = queueNameSchema.safeParse(input.name);
    if (!name.success) issues.push({ path: 'name', message: name.error.issues[0]?.message ?? 'not a schedule name' });
    const timeZone = input.timeZone ?? 'UTC';
    const expression = CronExpression.parse(input.cron, timeZone);
    if (Array.isArray(expression)) issues.push(...expression);
    const missedLimit = input.missedLimit ?? SCHEDULE_BOUNDS.defaultMissedLimit;
    if (!missedLimitSchema.safeParse(missedLimit).success) {
      issues.push({ path: 'missedLimit', message: `must be an integer from 1 to ${SCHEDULE_BOUNDS.maxMissedLimit}` });
    }
    const job = { ...input.job, idempotencyKey: undefined };
    try {
      await this.options.jobs.checkSubmission(job);
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push(...error.details.map((issue) => ({ ...issue, path: issue.path ? `job.${issue.path}` : 'job' })));
    }
    if (issues.length > 0 || Array.isArray(expression)) throw new ValidationError(issues);
    return upsertSchedule(this.options.db, {
      tenantId: tenancy.tenant,
      name: input.name,
      cron: input.cron,
      timeZone,
      job,
      missedTicks: input.missedTicks ?? 'SKIP',
      missedLimit,
      source,
      nextRunAt: expression.tickAfter(new Date()),
    });
  }

  async delete(tenancy: Tenancy, name: string): Promise<ScheduleRecord> {
    return found(await deleteSchedule(this.options.db, tenancy.tenant, checkedName(name)), name);
  }

  /** No tick is submitted while it is paused; the ticks it pauses through are skipped. */
  async pause(tenancy: Tenancy, name: string): Promise<ScheduleRecord> {
    return found(await setSchedulePaused(this.options.db, { tenantId: tenancy.tenant, name: checkedName(name) }, { paused: true }), name);
  }

  /** Its next tick is the first after now. */
  async resume(tenancy: Tenancy, name: string): Promise<ScheduleRecord> {
    const schedule = found(await findSchedule(this.options.db, tenancy.tenant, checkedName(name)), name);
    const expression = CronExpression.parse(schedule.cron, schedule.timeZone);
    const nextRunAt = Array.isArray(expression) ? null : expression.tickAfter(new Date());
    return found(await setSchedulePaused(this.options.db, { tenantId: tenancy.tenant, name }, { paused: false, nextRunAt }), name);
  }

  /** Submits the due ticks of every tenant's schedules, as each one's policy says; the jobs submitted. */
  async submitDue(now = new Date()): Promise<number> {
    let submitted = 0;
    for (const schedule of await dueSchedules(this.options.db, now, DUE_PER_PASS)) {
      try {
        submitted += await this.submitSchedule(schedule, now);
      } catch (error) {
        this.options.logger.warn({ err: toError(error), schedule: schedule.name, tenant: schedule.tenantId }, 'a schedule tick could not be submitted; the next pass tries again');
      }
    }
    return submitted;
  }

  private async submitSchedule(schedule: ScheduleRecord, now: Date): Promise<number> {
    const expression = CronExpression.parse(schedule.cron, schedule.timeZone);
    if (Array.isArray(expression) || schedule.nextRunAt === null) return 0;
    const plan = planTicks({
      nextRunAt: schedule.nextRunAt,
      now,
      missed: schedule.missedTicks,
      missedLimit: schedule.missedLimit,
      onTimeMs: this.options.missedAfterMs,
      clock: expression,
    });
    let last: JobRecord | undefined;
    for (const tick of plan.fire) last = await this.submitTick(schedule, tick);
    await advanceSchedule(this.options.db, schedule, { nextRunAt: plan.nextRunAt, lastRunAt: plan.fire.at(-1) ?? null, lastJobId: last?.id ?? null });
    return plan.fire.length;
  }

  /** The tick's job: submitted now, or the one another submission of the same tick made. */
  private async submitTick(schedule: ScheduleRecord, tick: Date): Promise<JobRecord | undefined> {
    const job = schedule.job as unknown as SubmitJobInput;
    const input: SubmitJobInput = {
      ...job,
      idempotencyKey: `schedule:${schedule.name}:${tick.toISOString()}`,
      metadata: { ...(job.metadata ?? {}), schedule: { name: schedule.name, tick: tick.toISOString() } },
    };
    try {
      return await this.options.jobs.submitJob({ tenant: schedule.tenantId }, input);
    } catch (error) {
      // The tick was submitted by a process that read another revision of the job: it has its job.
      if (error instanceof IdempotencyConflictError) return undefined;
      throw error;
    }
  }
}

function isScheduleName(name: string): boolean {
  return queueNameSchema.safeParse(name).success;
}

/** A name no schedule can have is refused before it reaches a statement. */
function checkedName(name: string): string {
  if (!isScheduleName(name)) throw ValidationError.field('name', 'must start with a letter or digit and use only letters, digits and . _ : -, up to 100');
  return name;
}

function found(schedule: ScheduleRecord | undefined, name: string): ScheduleRecord {
  if (!schedule) throw new NotFoundError('Schedule', name);
  return schedule;
}
