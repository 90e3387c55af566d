/**
 * A child process of the bench: opens N graphql-ws clients to `url`, each subscribing to one
 * job's `jobProgress`, and reports how long each TASK_PROGRESS event took from the handler's
 * `progress()` call (its message carries that instant) to each client.
 *
 * Argument: JSON { url, jobId, clients, events }. Stdout: `{"ready":true}` once every client has
 * caught up (it has seen the job go RUNNING: its task is started and waits to report), then
 * `{"latencies":[…]}` (ms) once each client has seen `events` progress events. Ready at a
 * client's first event instead, the first progress event met the server still replaying the
 * history to the others: subscription set-up, not the live fan-out this measures.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { url, jobId, clients, events } = JSON.parse(process.argv[2] ?? '{}') as { url: string; jobId: string; clients: number; events: number };
const QUERY = 'subscription ($jobId: ID!) { jobProgress(jobId: $jobId) { type jobStatus progress { message } } }';

const latencies: number[] = [];
let caughtUpClients = 0;
let finished = 0;
const now = (): number => performance.timeOrigin + performance.now();

for (let i = 0; i < clients; i++) {
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  let seen = 0;
  let caughtUp = false;
  client.subscribe<{ jobProgress: { type: string; jobStatus: string | null; progress: { message: string | null } | null } }>(
    { query: QUERY, variables: { jobId } },
    {
      next: ({ data }) => {
        if (!caughtUp && data?.jobProgress.jobStatus === 'RUNNING') {
          caughtUp = true;
          caughtUpClients += 1;
          if (caughtUpClients === clients) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
        }
        const sentAt = Number(data?.jobProgress.progress?.message);
        if (data?.jobProgress.type !== 'TASK_PROGRESS' || !Number.isFinite(sentAt)) return;
        latencies.push(now() - sentAt);
        seen += 1;
        if (seen === events) {
          finished += 1;
          if (finished === clients) {
            // Exit once the line is out: a large write to a pipe is not done when write() returns.
            process.stdout.write(`${JSON.stringify({ latencies: latencies.map((ms) => Math.round(ms * 100) / 100) })}\n`, () => process.exit(0));
          }
        }
      },
      error: (error) => {
        process.stderr.write(`subscription error: ${JSON.stringify(error)}\n`);
        process.exit(1);
      },
      complete: () => {},
    },
  );
}
