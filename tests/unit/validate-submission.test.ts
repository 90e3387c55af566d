import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ValidationError } from '../../src/errors/index.js';
import type { SubmitJobInput } from '../../src/service/submit-input.js';
import { validateSubmission } from '../../src/service/validate-submission.js';
import { defineTask } from '../../src/tasks/define-task.js';
import { demoTasks } from '../../src/tasks/demo-tasks.js';
import { TaskRegistry } from '../../src/tasks/task-registry.js';

const now = new Date('2025-01-02T03:04:05.000Z');
const options = { maxTasksPerJob: 5, now };

/** A task type with its own queue, maxAttempts and timeout, next to the demo tasks. */
const sendEmail = defineTask({
  name: 'test.email',
  payload: z.object({ to: z.string() }),
  queue: 'emails',
  maxAttempts: 7,
  timeoutMs: 60_000,
  handler: () => undefined,
});

function registry(): TaskRegistry {
  return new TaskRegistry([...demoTasks, sendEmail]);
}

function validate(input: SubmitJobInput, maxTasksPerJob = options.maxTasksPerJob) {
  return validateSubmission(input, registry(), { maxTasksPerJob, now });
}

/** Runs a submission that must fail and returns its ValidationError. */
async function rejection(input: SubmitJobInput, maxTasksPerJob?: number): Promise<ValidationError> {
  const error: unknown = await validate(input, maxTasksPerJob).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

function paths(error: ValidationError): string[] {
  return error.details.map((detail) => detail.path);
}

describe('validateSubmission: valid input', () => {
  it('fills in the defaults', async () => {
    const job = await validate({ name: 'nap', tasks: [{ type: 'demo.sleep', payload: {} }] });

    expect(job).toEqual({
      name: 'nap',
      queue: 'default',
      priority: 5,
      idempotencyKey: null,
      metadata: {},
      tasks: [
        {
          key: null,
          dependsOn: [],
          dependencyRank: 0,
          type: 'demo.sleep',
          queue: 'default',
          priority: 5,
          payload: { ms: 1000, steps: 10 },
          maxAttempts: 3,
          timeoutMs: null,
          backoff: null,
          runAt: now,
        },
      ],
    });
  });

  it('puts a task off by delayMs, or until a future runAt; a past runAt means now', async () => {
    const later = new Date(now.getTime() + 60_000);
    const job = await validate({
      name: 'delays',
      tasks: [
        { type: 'demo.echo', payload: 1, delayMs: 1_500 },
        { type: 'demo.echo', payload: 2, runAt: later },
        { type: 'demo.echo', payload: 3, runAt: later.toISOString() as unknown as Date },
        { type: 'demo.echo', payload: 4, runAt: new Date(now.getTime() - 60_000) },
      ],
    });
    expect(job.tasks.map((task) => task.runAt.getTime())).toEqual([now.getTime() + 1_500, later.getTime(), later.getTime(), now.getTime()]);
  });

  it("takes the task's backoff, else its type's, else none", async () => {
    const patient = defineTask({
      name: 'test.patient',
      payload: z.unknown(),
      backoff: { type: 'FIXED', delayMs: 2_000 },
      handler: () => undefined,
    });
    const job = await validateSubmission(
      {
        name: 'backoffs',
        tasks: [
          { type: 'test.patient', payload: 1 },
          { type: 'test.patient', payload: 2, backoff: { type: 'EXPONENTIAL', delayMs: 100, maxDelayMs: 1_000, jitter: 0.2 } },
          { type: 'demo.echo', payload: 3 },
        ],
      },
      new TaskRegistry([...demoTasks, patient]),
      options,
    );
    expect(job.tasks.map((task) => task.backoff)).toEqual([
      { type: 'FIXED', delayMs: 2_000 },
      { type: 'EXPONENTIAL', delayMs: 100, maxDelayMs: 1_000, jitter: 0.2 },
      null,
    ]);
  });

  it('takes maxAttempts and timeoutMs from the task type when the task gives none', async () => {
    const job = await validate({
      name: 'mixed',
      tasks: [
        { type: 'demo.fail', payload: {} },
        { type: 'test.email', payload: { to: 'a@example.com' } },
      ],
    });

    expect(job.tasks[0]).toMatchObject({ maxAttempts: 3, timeoutMs: null, payload: { times: 1, message: 'demo.fail failed on purpose' } });
    expect(job.tasks[1]).toMatchObject({ maxAttempts: 7, timeoutMs: 60_000 });
  });

  it("prefers the task's own maxAttempts and timeoutMs", async () => {
    const job = await validate({
      name: 'own limits',
      tasks: [{ type: 'test.email', payload: { to: 'a@example.com' }, maxAttempts: 2, timeoutMs: 500 }],
    });
    expect(job.tasks[0]).toMatchObject({ maxAttempts: 2, timeoutMs: 500 });
  });

  it('keeps the job-level fields it was given', async () => {
    const job = await validate({
      name: '  padded  ',
      queue: 'reports',
      priority: 9,
      idempotencyKey: 'once',
      metadata: { owner: 'ops', tags: ['a'] },
      tasks: [{ type: 'demo.echo', payload: { any: ['json', 1, null] } }],
    });

    expect(job).toMatchObject({
      name: 'padded',
      queue: 'reports',
      priority: 9,
      idempotencyKey: 'once',
      metadata: { owner: 'ops', tags: ['a'] },
    });
    expect(job.tasks[0]).toMatchObject({ queue: 'reports', priority: 9, payload: { any: ['json', 1, null] } });
  });

  it('picks each task queue from the task, then the task type, then the job', async () => {
    const job = await validate({
      name: 'queues',
      queue: 'job-queue',
      tasks: [
        { type: 'test.email', payload: { to: 'x' }, queue: 'task-queue' },
        { type: 'test.email', payload: { to: 'x' } },
        { type: 'demo.echo', payload: 1 },
      ],
    });
    expect(job.tasks.map((task) => task.queue)).toEqual(['task-queue', 'emails', 'job-queue']);
  });

  it('picks each task priority from the task, then the job (task types set none)', async () => {
    const job = await validate({
      name: 'priorities',
      priority: 2,
      tasks: [
        { type: 'test.email', payload: { to: 'x' }, priority: 10 },
        { type: 'test.email', payload: { to: 'x' } },
      ],
    });
    expect(job.tasks.map((task) => task.priority)).toEqual([10, 2]);
  });

  it('accepts exactly maxTasksPerJob tasks', async () => {
    const tasks = Array.from({ length: 5 }, () => ({ type: 'demo.echo', payload: null }));
    const job = await validate({ name: 'full', tasks }, 5);
    expect(job.tasks).toHaveLength(5);
  });
});

describe('validateSubmission: invalid input', () => {
  it('rejects an unknown task type and lists the known ones', async () => {
    const error = await rejection({ name: 'x', tasks: [{ type: 'demo.echo', payload: 1 }, { type: 'no.such' }] });

    expect(paths(error)).toEqual(['tasks.1.type']);
    expect(error.details[0]!.message).toContain('"no.such"');
    expect(error.details[0]!.message).toContain('demo.echo, demo.fail, demo.sleep, test.email');
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toContain('tasks.1.type');
  });

  it('rejects a payload its schema refuses, pointing into the payload', async () => {
    const error = await rejection({ name: 'x', tasks: [{ type: 'demo.sleep', payload: { ms: -1 } }] });
    expect(paths(error)).toEqual(['tasks.0.payload.ms']);
  });

  it('rejects a payload of the wrong shape altogether', async () => {
    const error = await rejection({ name: 'x', tasks: [{ type: 'test.email', payload: 'not an object' }] });
    expect(paths(error)).toEqual(['tasks.0.payload']);
  });

  it('rejects an empty task list', async () => {
    const error = await rejection({ name: 'x', tasks: [] });
    expect(paths(error)).toEqual(['tasks']);
    expect(error.details[0]!.message).toBe('a job needs at least one task');
  });

  it('rejects more tasks than maxTasksPerJob', async () => {
    const tasks = Array.from({ length: 6 }, () => ({ type: 'demo.echo', payload: null }));
    const error = await rejection({ name: 'x', tasks }, 5);
    expect(paths(error)).toEqual(['tasks']);
    expect(error.details[0]!.message).toBe('a job may have at most 5 tasks');
  });

  it.each([0, 11, 2.5])('rejects job priority %s', async (priority) => {
    const error = await rejection({ name: 'x', priority, tasks: [{ type: 'demo.echo' }] });
    expect(paths(error)).toEqual(['priority']);
  });

  it.each([0, 11, 2.5])('rejects task priority %s', async (priority) => {
    const error = await rejection({ name: 'x', tasks: [{ type: 'demo.echo', priority }] });
    expect(paths(error)).toEqual(['tasks.0.priority']);
  });

  it.each(['', '   '])('rejects the empty name %j', async (name) => {
    const error = await rejection({ name, tasks: [{ type: 'demo.echo' }] });
    expect(paths(error)).toEqual(['name']);
    expect(error.details[0]!.message).toBe('must not be empty');
  });

  it.each(['', '-starts-with-dash', 'has space', 'slash/ed', 'q'.repeat(101)])('rejects the queue name %j', async (queue) => {
    const error = await rejection({ name: 'x', queue, tasks: [{ type: 'demo.echo' }] });
    // '' breaks two rules (length and pattern): every detail is about the queue.
    expect(new Set(paths(error))).toEqual(new Set(['queue']));
  });

  it('rejects runAt together with delayMs', async () => {
    const error = await rejection({ name: 'x', tasks: [{ type: 'demo.echo', payload: 1, runAt: now, delayMs: 5 }] });
    expect(error.details).toEqual([{ path: 'tasks.0.delayMs', message: 'give runAt or delayMs, not both' }]);
  });

  it('rejects a negative or fractional delayMs, a runAt that is no date-time, and one too far ahead', async () => {
    const error = await rejection({
      name: 'x',
      tasks: [
        { type: 'demo.echo', payload: 1, delayMs: -1 },
        { type: 'demo.echo', payload: 2, delayMs: 1.5 },
        { type: 'demo.echo', payload: 3, runAt: 'next tuesday' as unknown as Date },
      ],
    });
    expect(paths(error)).toEqual(['tasks.0.delayMs', 'tasks.1.delayMs', 'tasks.2.runAt']);
    const tooFar = await rejection({ name: 'x', tasks: [{ type: 'demo.echo', payload: 1, runAt: new Date(now.getTime() + 400 * 86_400_000) }] });
    expect(tooFar.details).toEqual([{ path: 'tasks.0.runAt', message: 'must be at most 366 days ahead' }]);
  });

  it('rejects a backoff with an unknown type, a jitter outside 0–1, or a cap below its delay', async () => {
    const error = await rejection({
      name: 'x',
      tasks: [
        { type: 'demo.echo', payload: 1, backoff: { type: 'LINEAR' as 'FIXED', delayMs: 10 } },
        { type: 'demo.echo', payload: 2, backoff: { type: 'FIXED', delayMs: 10, jitter: 1.5 } },
        { type: 'demo.echo', payload: 3, backoff: { type: 'EXPONENTIAL', delayMs: 100, maxDelayMs: 50 } },
      ],
    });
    expect(paths(error)).toEqual(['tasks.0.backoff.type', 'tasks.1.backoff.jitter', 'tasks.2.backoff.maxDelayMs']);
  });

  it('rejects a bad task queue name', async () => {
    const error = await rejection({ name: 'x', tasks: [{ type: 'demo.echo', queue: 'no spaces' }] });
    expect(paths(error)).toEqual(['tasks.0.queue']);
  });

  it('rejects a payload over 256 KiB', async () => {
    // 256 KiB of JSON is the limit; the quotes push this string just past it.
    const payload = 'x'.repeat(256 * 1024 - 1);
    const error = await rejection({ name: 'x', tasks: [{ type: 'demo.echo', payload }] });
    expect(paths(error)).toEqual(['tasks.0.payload']);
    expect(error.details[0]!.message).toContain(String(256 * 1024));
  });

  it('accepts a payload of exactly 256 KiB', async () => {
    const payload = 'x'.repeat(256 * 1024 - 2);
    const job = await validate({ name: 'x', tasks: [{ type: 'demo.echo', payload }] });
    expect(job.tasks[0]!.payload).toBe(payload);
  });

  it.each<[string, unknown]>([
    ['a string', 'tags'],
    ['an array', ['a']],
    ['null', null],
    ['a number', 3],
  ])('rejects metadata that is %s', async (_what, metadata) => {
    const error = await rejection({ name: 'x', metadata: metadata as Record<string, unknown>, tasks: [{ type: 'demo.echo' }] });
    expect(paths(error)).toEqual(['metadata']);
  });

  it('reports every problem in the submission shape at once', async () => {
    const error = await rejection({
      name: '',
      queue: 'bad queue',
      priority: 0,
      tasks: [{ type: 'demo.echo', priority: 2.5 }],
    });
    expect(paths(error).sort()).toEqual(['name', 'priority', 'queue', 'tasks.0.priority']);
    expect(error.message).toContain('(and 3 more)');
  });

  it('reports every problem across the tasks at once', async () => {
    const error = await rejection({
      name: 'x',
      tasks: [
        { type: 'no.such' },
        { type: 'demo.sleep', payload: { ms: 'slow', steps: 0 } },
        { type: 'demo.echo', payload: 'ok' },
        { type: 'demo.echo', payload: 'y'.repeat(300 * 1024) },
      ],
    });
    expect(paths(error)).toEqual(['tasks.0.type', 'tasks.1.payload.ms', 'tasks.1.payload.steps', 'tasks.3.payload']);
  });
});
