import { runProcess } from './runtime/run-process.js';

/** `npm run server`: the GraphQL API only; separate `npm run worker` processes run the tasks. */
await runProcess('api');
