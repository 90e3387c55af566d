/**
 * A child process of the bench: one jobql worker (role `worker`) serving the bench's no-op task
 * type, configured by the environment like `npm run worker`. Prints its ready line as the
 * worker does; the bench reads its peak RSS from /proc.
 */
import { loadConfig } from '../../src/config.js';
import { startJobQl } from '../../src/runtime/start-jobql.js';
import { benchNoop } from '../lib/noop-task.js';

const app = await startJobQl({ config: loadConfig(), role: 'worker', tasks: [benchNoop] });
process.stdout.write(`${JSON.stringify({ url: app.url })}\n`);
process.on('SIGTERM', () => {
  void app.stop().then(() => process.exit(0));
});
