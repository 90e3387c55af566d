import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { defineTask } from './define-task.js';

/** Task types shipped so a newcomer can submit a job and watch it before writing any handler. */

export const demoSleep = defineTask({
  name: 'demo.sleep',
  payload: z.object({
    ms: z.number().int().min(0).max(3_600_000).default(1_000),
    steps: z.number().int().min(1).max(1_000).default(10),
  }),
  async handler({ payload, signal, progress }) {
    const slice = payload.ms / payload.steps;
    for (let step = 1; step <= payload.steps; step++) {
      await sleep(slice, undefined, { signal });
      await progress(step, payload.steps, `step ${step} of ${payload.steps}`);
    }
    return { sleptMs: payload.ms };
  },
});

export const demoFail = defineTask({
  name: 'demo.fail',
  payload: z.object({
    times: z.number().int().min(0).max(100).default(1),
    message: z.string().max(1_000).default('demo.fail failed on purpose'),
  }),
  maxAttempts: 3,
  handler({ payload, attempt }) {
    if (attempt <= payload.times) throw new Error(`${payload.message} (attempt ${attempt})`);
    return { succeededOnAttempt: attempt };
  },
});

export const demoEcho = defineTask({
  name: 'demo.echo',
  payload: z.json(),
  handler({ payload }) {
    return payload;
  },
});

export const demoTasks = [demoSleep, demoFail, demoEcho] as const;
