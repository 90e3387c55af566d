/**
 * A child process of the bench: opens N graphql-ws clients to `url`, each subscribing to one
 * job's `jobProgress`, and reports how long each TASK_PROGRESS event took from the handler's
 * `progress()` call (its message carries that instant) to each client.
 *
 * Argument: JSON { url, jobId, clients, events }. Stdout: `{"ready":true}` once every client is
 * subscribed, then `{"latencies":[…]}` (ms) once each client has seen `events` progress events.
 */
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const { url, jobId, clients, events } = JSON.parse(process.argv[2] ?? '{}') as { url: string; jobId: string; clients: number; events: number };
const QUERY = 'subscription ($jobId: ID!) { jobProgress(jobId: $jobId) { type progress { message } } }';

const latencies: number[] = [];
let subscribed = 0;
let finished = 0;
const now = (): number => performance.timeOrigin + performance.now();

for (let i = 0; i < clients; i++) {
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, retryAttempts: 0, lazy: false });
  let seen = 0;
  let replayed = false;
  client.subscribe<{ jobProgress: { type: string; progress: { message: string | null } | null } }>(
    { query: QUERY, variables: { jobId } },
    {
      next: ({ data }) => {
        // The first event is the stored history replaying: from then on this client is subscribed.
        if (!replayed) {
          replayed = true;
          subscribed += 1;
          if (subscribed === clients) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
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
