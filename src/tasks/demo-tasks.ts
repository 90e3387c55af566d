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

/**
 * CPU-bound work that never looks at its signal: isolated, so a timeout or a cancel still stops
 * it (its thread is terminated after ABORT_GRACE_MS), and it never blocks the worker's event loop.
 */
export const demoCrunch = defineTask({
  name: 'demo.crunch',
  payload: z.object({ ms: z.number().int().min(0).max(3_600_000).default(1_000) }),
  isolation: { module: import.meta.url },
  handler({ payload }) {
    const until = Date.now() + payload.ms;
    let spins = 0;
    while (Date.now() < until) spins += 1;
    return { spins };
  },
});

export const demoTasks = [demoSleep, demoFail, demoEcho, demoCrunch] as const;
