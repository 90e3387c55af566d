import { builder } from './builder.js';
import './types/errors.js';
import './types/enums.js';
import './types/task.js';
import './types/job-event.js';
import './types/job.js';
import './queries.js';
import './types/health.js';
import './types/operations.js';
import './mutations/submit-job.js';
import './mutations/retry-task.js';
import './mutations/cancel-task.js';
import './mutations/cancel-job.js';
import './mutations/create-job-token.js';
import './subscriptions/watch-job.js';

export const schema = builder.toSchema({ sortSchema: true });
export type { Context, TaskQuota } from './context.js';
export { createContext } from './context.js';
