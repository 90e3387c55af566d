import { runProcess } from './runtime/run-process.js';

/** `npm start`: the API and a worker in one process (on an embedded PostgreSQL unless DATABASE_URL is set). */
await runProcess('all');
