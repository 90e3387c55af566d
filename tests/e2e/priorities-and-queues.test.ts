import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { bandOf } from '../../adapters/redis/priority-bands.js';
import { defineTask } from '../../src/tasks/define-task.js';
import { submitOrThrow } from '../support/job-operations.js';
import { taskDetail, waitForTasks } from '../support/task-polling.js';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { TEST_REDIS_URL } from '../support/test-redis.js';

/** What the handlers below saw, in the order they started. */
const started: string[] = [];
const running = new Map<string, number>();
const mostAtOnce = new Map<string, number>();
let openGate: () => void = () => {};
let gate: Promise<void> = Promise.resolve();

/** Holds its slot until the test opens the gate. */
const holdSlot = defineTask({
  name: 'test.hold-slot',
  payload: z.unknown(),
  handler: () => gate,
});

/** Notes its label when it starts, and how many of its queue ran at once. */
const note = defineTask({
  name: 'test.note',
  payload: z.object({ label: z.string(), ms: z.number().default(0) }),
  async handler({ payload, taskId }) {
    started.push(payload.label);
    const group = payload.label.split(':')[0] ?? '';
    running.set(group, (running.get(group) ?? 0) + 1);
    mostAtOnce.set(group, Math.max(mostAtOnce.get(group) ?? 0, running.get(group) ?? 0));
    await new Promise((resolve) => setTimeout(resolve, payload.ms));
    running.set(group, (running.get(group) ?? 0) - 1);
    return { taskId };
  },
});

/** Routed by its type: a submission that names no queue puts it on `images`. */
const resize = defineTask({ name: 'test.resize', payload: z.unknown(), queue: 'images', handler: () => 'resized' });

beforeEach(() => {
  started.length = 0;
  running.clear();
  mostAtOnce.clear();
  gate = new Promise<void>((resolve) => (openGate = resolve));
});
afterEach(() => openGate());

describe.each(['memory', 'postgres', 'redis'] as const)('priorities and queues on the %s adapter', (adapter) => {
  let oneSlot: TestApp;
  let ownSlots: TestApp;
  beforeAll(async () => {
    const env = { QUEUE_ADAPTER: adapter, REDIS_URL: TEST_REDIS_URL };
    [oneSlot, ownSlots] = await Promise.all([
      startTestApp({ env: { ...env, WORKER_CONCURRENCY: '1' }, tasks: [holdSlot, note, resize] }),
      startTestApp({ env: { ...env, WORKER_CONCURRENCY: '3', WORKER_QUEUES: 'default,solo=1,pair=2' }, tasks: [holdSlot, note] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([oneSlot?.stop(), ownSlots?.stop()]);
  });

  it('with one worker slot, starts the waiting tasks highest priority first', async () => {
    const blocker = await submitOrThrow(oneSlot.url, { name: 'blocker', tasks: [{ type: 'test.hold-slot', payload: null }] });
    await waitForTasks(oneSlot.url, blocker.taskIds, 'RUNNING');

    // Submitted in this order while the one slot is taken; half as job priority, half per task.
    const priorities = [3, 9, 1, 7, 5, 10, 2, 6, 8, 4];
    const ids: string[] = [];
    for (const [i, priority] of priorities.entries()) {
      const task = { type: 'test.note', payload: { label: `p${priority}` } };
      const job =
        i % 2 === 0
          ? await submitOrThrow(oneSlot.url, { name: `p${priority}`, priority, tasks: [task] })
          : await submitOrThrow(oneSlot.url, { name: `p${priority}`, tasks: [{ ...task, priority }] });
      ids.push(job.taskIds[0]!);
      expect((await taskDetail(oneSlot.url, job.taskIds[0]!)).priority).toBe(priority);
    }
    openGate();
    await waitForTasks(oneSlot.url, ids, 'SUCCEEDED');

    // Exact on memory and postgres; redis keeps three bands (8–10, 4–7, 1–3), first in first out within one.
    const expected =
      adapter === 'redis'
        ? [...priorities].sort((a, b) => ['high', 'normal', 'low'].indexOf(bandOf(a)) - ['high', 'normal', 'low'].indexOf(bandOf(b)))
        : [...priorities].sort((a, b) => b - a);
    expect(started).toEqual(expected.map((p) => `p${p}`));
  });

  it("routes a task to its type's queue when the submission names none, and to the given one when it does", async () => {
    const job = await submitOrThrow(oneSlot.url, {
      name: 'routing',
      tasks: [
        { type: 'test.resize', payload: null },
        { type: 'test.resize', payload: null, queue: 'default' },
        { type: 'test.note', payload: { label: 'routed' } },
      ],
    });
    const queues = (await waitForTasks(oneSlot.url, job.taskIds, 'SUCCEEDED')).map((task) => task.queue);
    expect(queues).toEqual(['images', 'default', 'default']);
  });

  it('gives a queue with slots of its own exactly that many, beside the shared slots', async () => {
    // The shared slots are all taken: the solo and pair queues still run, on slots of their own.
    const blockers = await submitOrThrow(ownSlots.url, {
      name: 'fill the shared slots',
      tasks: Array.from({ length: 3 }, () => ({ type: 'test.hold-slot', payload: null })),
    });
    await waitForTasks(ownSlots.url, blockers.taskIds, 'RUNNING');
    const job = await submitOrThrow(ownSlots.url, {
      name: 'own slots',
      tasks: [
        ...Array.from({ length: 4 }, (_, i) => ({ type: 'test.note', queue: 'solo', payload: { label: `solo:${i}`, ms: 150 } })),
        ...Array.from({ length: 6 }, (_, i) => ({ type: 'test.note', queue: 'pair', payload: { label: `pair:${i}`, ms: 150 } })),
      ],
    });
    await waitForTasks(ownSlots.url, job.taskIds, 'SUCCEEDED');
    expect(mostAtOnce.get('solo')).toBe(1);
    expect(mostAtOnce.get('pair')).toBe(2);
    // Still held: the shared slots were never lent to the other queues, nor theirs to the blockers.
    const blockerStates = await Promise.all(blockers.taskIds.map(async (id) => (await taskDetail(ownSlots.url, id)).status));
    expect(blockerStates).toEqual(['RUNNING', 'RUNNING', 'RUNNING']);
    openGate();
    await waitForTasks(ownSlots.url, blockers.taskIds, 'SUCCEEDED');
  });
});
