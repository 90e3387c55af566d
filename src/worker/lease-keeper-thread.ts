import { parentPort, workerData } from 'node:worker_threads';
import { renewLeasesWith, type RenewedRow, type RunStatement } from '../store/lease-renewal.js';
import { createPool } from '../pg/pg-pool.js';
import { attemptKey, type FromLeaseKeeperThread, type LeaseKeeperThreadData, type ToLeaseKeeperThread } from './lease-keeper-protocol.js';
import { serializeError } from './serialized-error.js';
import type { AttemptRef } from '../domain/attempt-ref.js';

/**
 * The lease keeper's thread (started by `startLeaseKeeper`): renews the leases of the attempts it
 * is told to hold, every heartbeat, on a connection of its own, so that a handler keeping the
 * worker's main thread busy cannot starve the heartbeat.
 */

if (!parentPort) throw new Error('lease-keeper-thread runs inside a worker thread started by startLeaseKeeper');
const port = parentPort;
const config = workerData as LeaseKeeperThreadData;

// One connection: the pool replaces it when it breaks, so a database outage costs beats, not the thread.
// Bare pg, no Kysely: see pg-pool.ts.
const pool = createPool({ connectionString: config.connectionString, schema: config.schema, maxConnections: 1 });
// Checked out, not pool.query: pool.query calls the client back, and only the promise form is prepared.
const run: RunStatement = async (text, values) => {
  const client = await pool.connect();
  try {
    return (await client.query<RenewedRow>(text, values)).rows;
  } finally {
    client.release();
  }
};
const held = new Map<string, AttemptRef>(config.held.map((ref) => [attemptKey(ref), ref]));

interface Renewal {
  readonly since: number;
  readonly done: Promise<void>;
  stallReported: boolean;
}

let renewal: Renewal | undefined;
let closing = false;

function post(message: FromLeaseKeeperThread): void {
  port.postMessage(message);
}

function beat(): void {
  if (closing) return;
  if (renewal) {
    // The one connection is still busy with the previous renewal: queueing more behind it would only
    // pile up statements. Say so once it has waited a whole lease, since the leases are lapsing.
    const waited = Date.now() - renewal.since;
    if (!renewal.stallReported && waited >= config.leaseMs) {
      renewal.stallReported = true;
      post({ type: 'error', error: serializeError(new Error(`Lease renewal has waited ${waited} ms for the database`)) });
    }
    return;
  }
  if (held.size === 0) return;
  const current: Renewal = { since: Date.now(), done: renew([...held.values()]), stallReported: false };
  renewal = current;
  void current.done.finally(() => {
    if (renewal === current) renewal = undefined;
  });
}

async function renew(attempts: AttemptRef[]): Promise<void> {
  try {
    const renewed = await renewLeasesWith(run, { workerId: config.workerId, attempts, leaseMs: config.leaseMs });
    const renewedKeys = new Set(renewed.map(attemptKey));
    const lost: AttemptRef[] = [];
    for (const ref of attempts) {
      const key = attemptKey(ref);
      // One released while the statement ran is no longer ours to report.
      if (renewedKeys.has(key) || !held.delete(key)) continue;
      lost.push(ref);
    }
    if (lost.length > 0) post({ type: 'lost', refs: lost });
  } catch (error) {
    post({ type: 'error', error: serializeError(error) });
  }
}

async function close(): Promise<void> {
  if (closing) return;
  closing = true;
  clearInterval(timer);
  await renewal?.done;
  await pool.end();
  // The port is the last handle: with it closed the thread ends on its own.
  port.close();
}

const timer = setInterval(beat, config.heartbeatMs);

port.on('message', (message: ToLeaseKeeperThread) => {
  switch (message.type) {
    case 'hold':
      held.set(attemptKey(message.ref), message.ref);
      break;
    case 'release':
      held.delete(attemptKey(message.ref));
      break;
    case 'close':
      void close();
      break;
  }
});

post({ type: 'ready' });
// A restarted thread renews what it inherited at once rather than a heartbeat later.
beat();
