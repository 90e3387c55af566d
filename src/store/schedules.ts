import { sql } from 'kysely';
import type { Db, MissedTicks, ScheduleSource, SchedulesTable } from './database.js';
import { toJson } from './database.js';

/** A tenant's cron schedule as stored. */
export interface ScheduleRecord {
  readonly tenantId: string;
  readonly name: string;
  readonly cron: string;
  readonly timeZone: string;
  readonly job: Record<string, unknown>;
  readonly missedTicks: MissedTicks;
  readonly missedLimit: number;
  readonly source: ScheduleSource;
  readonly pausedAt: Date | null;
  readonly nextRunAt: Date | null;
  readonly lastRunAt: Date | null;
  readonly lastJobId: string | null;
  readonly revision: number;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What a write of the definition sets; `nextRunAt` is the first tick after it. */
export type ScheduleWrite = Pick<
  ScheduleRecord,
  'tenantId' | 'name' | 'cron' | 'timeZone' | 'job' | 'missedTicks' | 'missedLimit' | 'source' | 'nextRunAt'
>;

type Row = { [K in keyof SchedulesTable]: unknown };
const COLUMNS: (keyof Row)[] = [
  'tenantId', 'name', 'cron', 'timeZone', 'job', 'missedTicks', 'missedLimit', 'source',
  'pausedAt', 'nextRunAt', 'lastRunAt', 'lastJobId', 'revision', 'createdAt', 'updatedAt',
];

/**
 * Creates or replaces a schedule. Its pause and its last run are kept; its next tick is the
 * write's unless the expression, zone and job are unchanged, when the pending tick is kept (a
 * process declaring the same schedule at every start must not skip a due tick).
 */
export async function upsertSchedule(db: Db, write: ScheduleWrite): Promise<ScheduleRecord> {
  const row = await db
    .insertInto('schedules')
    .values({ ...write, job: toJson(write.job) })
    .onConflict((conflict) =>
      conflict.columns(['tenantId', 'name']).doUpdateSet({
        cron: (eb) => eb.ref('excluded.cron'),
        timeZone: (eb) => eb.ref('excluded.timeZone'),
        job: (eb) => eb.ref('excluded.job'),
        missedTicks: (eb) => eb.ref('excluded.missedTicks'),
        missedLimit: (eb) => eb.ref('excluded.missedLimit'),
        source: (eb) => eb.ref('excluded.source'),
        nextRunAt: sql<Date>`case
          when schedules.cron = excluded.cron and schedules.time_zone = excluded.time_zone and schedules.job = excluded.job
          then schedules.next_run_at else excluded.next_run_at end`,
        revision: sql<number>`schedules.revision + 1`,
        updatedAt: sql<Date>`now()`,
      }),
    )
    .returning(COLUMNS)
    .executeTakeFirstOrThrow();
  return row as ScheduleRecord;
}

export async function deleteSchedule(db: Db, tenantId: string, name: string): Promise<ScheduleRecord | undefined> {
  const row = await db.deleteFrom('schedules').where('tenantId', '=', tenantId).where('name', '=', name).returning(COLUMNS).executeTakeFirst();
  return row as ScheduleRecord | undefined;
}

/**
 * Pauses (keeping the first pause's time) or resumes; a resumed schedule's next tick is
 * `nextRunAt`, after now. Neither is a new revision: a submitter of a tick read before the pause
 * still records it.
 */
export async function setSchedulePaused(
  db: Db,
  key: { readonly tenantId: string; readonly name: string },
  change: { readonly paused: true } | { readonly paused: false; readonly nextRunAt: Date | null },
): Promise<ScheduleRecord | undefined> {
  const row = await db
    .updateTable('schedules')
    .set(
      change.paused
        ? { pausedAt: sql<Date>`coalesce(paused_at, now())`, updatedAt: sql<Date>`now()` }
        : {
            pausedAt: null,
            nextRunAt: sql<Date>`case when paused_at is null then next_run_at else ${change.nextRunAt}::timestamptz end`,
            updatedAt: sql<Date>`now()`,
          },
    )
    .where('tenantId', '=', key.tenantId)
    .where('name', '=', key.name)
    .returning(COLUMNS)
    .executeTakeFirst();
  return row as ScheduleRecord | undefined;
}

export async function listSchedules(db: Db, tenantId: string): Promise<ScheduleRecord[]> {
  return (await db.selectFrom('schedules').select(COLUMNS).where('tenantId', '=', tenantId).orderBy('name').execute()) as ScheduleRecord[];
}

export async function findSchedule(db: Db, tenantId: string, name: string): Promise<ScheduleRecord | undefined> {
  const row = await db.selectFrom('schedules').select(COLUMNS).where('tenantId', '=', tenantId).where('name', '=', name).executeTakeFirst();
  return row as ScheduleRecord | undefined;
}

/** Every tenant's unpaused schedules whose next tick has come, by the `schedules_due` index. */
export async function dueSchedules(db: Db, now: Date, limit: number): Promise<ScheduleRecord[]> {
  return (await db
    .selectFrom('schedules')
    .select(COLUMNS)
    .where('pausedAt', 'is', null)
    .where('nextRunAt', '<=', now)
    .orderBy('nextRunAt')
    .limit(limit)
    .execute()) as ScheduleRecord[];
}

/**
 * Moves a schedule past the ticks it submitted, if it is still as it was read (the same next
 * tick and the same revision): whoever submitted them first moves it, the others change nothing.
 */
export async function advanceSchedule(
  db: Db,
  read: Pick<ScheduleRecord, 'tenantId' | 'name' | 'nextRunAt' | 'revision'>,
  advance: { readonly nextRunAt: Date | null; readonly lastRunAt: Date | null; readonly lastJobId: string | null },
): Promise<boolean> {
  const result = await db
    .updateTable('schedules')
    .set({
      nextRunAt: advance.nextRunAt,
      ...(advance.lastRunAt ? { lastRunAt: advance.lastRunAt, lastJobId: advance.lastJobId } : {}),
    })
    .where('tenantId', '=', read.tenantId)
    .where('name', '=', read.name)
    .where('nextRunAt', '=', read.nextRunAt)
    .where('revision', '=', read.revision)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}
