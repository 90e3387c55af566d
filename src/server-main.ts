import { runProcess } from './process-lifecycle.js';

/** `npm run server`: the GraphQL API only; separate `npm run worker` processes run the tasks. */
await runProcess('api');
