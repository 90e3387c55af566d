import { builder } from '../builder.js';
import type { TaskErrorValue } from '../../src/domain/task-values.js';

export const TaskErrorRef = builder.objectRef<TaskErrorValue>('TaskError').implement({
  description: "Why a task's attempt failed.",
  fields: (t) => ({
    message: t.exposeString('message'),
    code: t.exposeString('code', { description: 'HANDLER_ERROR, or the `code` of the error the handler threw, or TIMEOUT, LEASE_EXPIRED, SHUTDOWN…' }),
  }),
});
