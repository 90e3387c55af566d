import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineSchedule } from '../../src/service/define-schedule.js';
import { defineTask } from '../../src/tasks/define-task.js';
import { DeleteSchedule, PauseSchedule, ResumeSchedule, Schedules, UpsertSchedule } from '../graphql/operations.js';
import { execute } from '../support/graphql-client.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

/**
 * Cron schedules: every tick one job, across three worker processes, one restarted between
 * ticks and then all of them stopped and started again; and the schedules' GraphQL.
 */

const tick = defineTask({ name: 'test.tick', payload: z.object({}).passthrough(), handler: () => 'ticked' });

const everySecond = defineSchedule({
  name: 'every-second',
  cron: '* * * * * *',
  job: { name: 'tick', tasks: [{ type: 'test.tick', payload: {} }] },
  missedTicks: 'RUN_ALL',
  missedLimit: 100,
});

const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0).reverse()) await app.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Jobs per tick of a schedule, by tick, from the jobs' metadata. */
async function jobsPerTick(app: TestApp, schedule: string): Promise<Map<number, number>> {
  const { rows } = await sql<{ tick: string; n: number }>`
    select metadata->'schedule'->>'tick' as tick, count(*)::int as n from jobs
    where metadata->'schedule'->>'name' = ${schedule} group by 1 order by 1`.execute(app.db);
  return new Map(rows.map((row) => [Date.parse(row.tick), row.n]));
}

describe('a schedule of every second, with three worker processes', () => {
  it('submits exactly one job per tick through a restart of one and a stop of all', async () => {
    const env = { QUEUE_ADAPTER: 'postgres', SCHEDULER_INTERVAL_MS: '200' };
    // The API owns the schema and runs no scheduler; the workers come and go.
    const api = await startTestApp({ env, role: 'api', tasks: [tick] });
    apps.push(api);
    const worker = () => startTestApp({ env, role: 'worker', tasks: [tick], schedules: [everySecond], schema: api.schema });
    let workers = await Promise.all([worker(), worker(), worker()]);
    await sleep(2_500);
    await workers[0]!.stop();
    workers[0] = await worker();
    await sleep(2_000);
    await Promise.all(workers.map((w) => w.stop()));
    const stoppedAt = Date.now();
    await sleep(2_500);
    workers = await Promise.all([worker(), worker(), worker()]);
    apps.push(...workers);
    await sleep(2_500);
    const paused = await execute(api.url, PauseSchedule, { name: 'every-second' });
    expect(paused.pauseSchedule).toMatchObject({ __typename: 'PauseScheduleSuccess', schedule: { paused: true } });
    await sleep(500);

    const perTick = await jobsPerTick(api, 'every-second');
    const ticks = [...perTick.keys()];
    console.log(`[schedules] ${ticks.length} ticks, jobs per tick ${JSON.stringify([...perTick.values()])}`);
    expect([...perTick.values()].every((n) => n === 1)).toBe(true);
    // Every second from the first tick to the last has its job, the ones of the stop included.
    expect(ticks.every((at, index) => index === 0 || at - ticks[index - 1]! === 1_000)).toBe(true);
    expect(ticks.length).toBeGreaterThanOrEqual(8);
    expect(ticks.some((at) => at > stoppedAt && at < stoppedAt + 2_000)).toBe(true);
    const { schedules } = await execute(api.url, Schedules, {});
    expect(schedules).toMatchObject([{ name: 'every-second', source: 'CODE', paused: true, lastJob: { name: 'tick' } }]);
    expect(Date.parse(schedules[0]!.lastRunAt as string)).toBe(ticks.at(-1));
  });
});

describe('schedules in GraphQL', () => {
  it('are checked whole, written, paused, resumed and deleted, each with a typed answer', async () => {
    const app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', SCHEDULER_INTERVAL_MS: '100' }, tasks: [tick] });
    apps.push(app);
    const job = { name: 'nightly', tasks: [{ type: 'test.tick', payload: {} }] };
    const bad = await execute(app.url, UpsertSchedule, {
      input: { name: 'nightly', cron: '0 3 * * *', timeZone: 'Mars/Olympus', missedLimit: 0, job: { name: 'x', tasks: [{ type: 'no.such.type' }] } },
    });
    expect(bad.upsertSchedule.__typename).toBe('ValidationError');
    if (bad.upsertSchedule.__typename === 'ValidationError') {
      expect(bad.upsertSchedule.details.map((detail) => detail.path).sort()).toEqual(['job.tasks.0.type', 'missedLimit', 'timeZone']);
    }
    const badCron = await execute(app.url, UpsertSchedule, { input: { name: 'nightly', cron: '61 * * * *', job } });
    expect(badCron.upsertSchedule).toMatchObject({ __typename: 'ValidationError', details: [{ path: 'cron' }] });
    expect((await execute(app.url, Schedules, {})).schedules).toEqual([]);

    const made = await execute(app.url, UpsertSchedule, { input: { name: 'often', cron: '* * * * * *', timeZone: 'Europe/Paris', job } });
    expect(made.upsertSchedule).toMatchObject({ __typename: 'UpsertScheduleSuccess', schedule: { name: 'often', timeZone: 'Europe/Paris', paused: false, source: 'API' } });
    await expect.poll(async () => (await execute(app.url, Schedules, {})).schedules[0]?.lastJob?.name, { timeout: 5_000 }).toBe('nightly');

    expect((await execute(app.url, PauseSchedule, { name: 'often' })).pauseSchedule).toMatchObject({ schedule: { paused: true } });
    const whilePaused = (await jobsPerTick(app, 'often')).size;
    await sleep(2_200);
    expect((await jobsPerTick(app, 'often')).size).toBe(whilePaused);
    const resumed = await execute(app.url, ResumeSchedule, { name: 'often' });
    expect(resumed.resumeSchedule).toMatchObject({ __typename: 'ResumeScheduleSuccess', schedule: { paused: false } });
    if (resumed.resumeSchedule.__typename === 'ResumeScheduleSuccess') {
      expect(Date.parse(resumed.resumeSchedule.schedule.nextRunAt as string)).toBeGreaterThan(Date.now() - 1_000);
    }
    await expect.poll(async () => (await jobsPerTick(app, 'often')).size, { timeout: 5_000 }).toBeGreaterThan(whilePaused);

    expect((await execute(app.url, DeleteSchedule, { name: 'often' })).deleteSchedule).toMatchObject({ __typename: 'DeleteScheduleSuccess' });
    expect((await execute(app.url, DeleteSchedule, { name: 'often' })).deleteSchedule).toMatchObject({ __typename: 'NotFoundError' });
    expect((await execute(app.url, PauseSchedule, { name: 'nul\u0000byte' })).pauseSchedule).toMatchObject({ __typename: 'ValidationError' });
    expect((await execute(app.url, Schedules, {})).schedules).toEqual([]);
  });
});
