import { z } from 'zod';
import { defineTask } from '../../src/tasks/define-task.js';

/** The bench's no-op task type, for processes that only need to know it (an API) or run it as it is. */
export const benchNoop = defineTask({
  name: 'bench.noop',
  payload: z.object({ seq: z.number(), sentAt: z.number() }),
  handler: () => undefined,
});
