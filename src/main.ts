import { runProcess } from './process-lifecycle.js';

/** `npm start`: the API and a worker in one process (on an embedded PostgreSQL unless DATABASE_URL is set). */
await runProcess('all');
