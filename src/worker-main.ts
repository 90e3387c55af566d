import { runProcess } from './process-lifecycle.js';

/** `npm run worker`: runs tasks only, serving `GET /health` on PORT. */
await runProcess('worker');
