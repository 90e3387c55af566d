import { runProcess } from './runtime/run-process.js';

/** `npm run worker`: runs tasks only, serving `GET /health` on PORT. */
await runProcess('worker');
