import { runProcess } from './runtime/run-process.js';

/** `npm run worker`: runs tasks only, serving `GET /health/live` and `/health/ready` on PORT. */
await runProcess('worker');
