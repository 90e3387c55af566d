import { sql } from 'kysely';
import type { EventBus } from '../../adapters/event-bus.js';
import type { QueueAdapter } from '../../adapters/queue-adapter.js';
import type { Db } from '../store/database.js';
import { pendingMigrations } from '../store/migrator.js';
import type { Worker } from '../worker/worker.js';
import type { HealthCheck } from './process-health.js';

export interface CheckedParts {
  readonly db: Db;
  readonly schema: string | undefined;
  readonly adapter: QueueAdapter;
  readonly bus: EventBus;
  readonly worker: Worker | undefined;
}

/** The checks of a process made of these parts: each names what it needs to do its work. */
export function processChecks(parts: CheckedParts): HealthCheck[] {
  const { adapter, bus, worker } = parts;
  const checks: HealthCheck[] = [
    { name: 'database', run: async () => void (await sql`select 1`.execute(parts.db)) },
    {
      name: 'migrations',
      run: async () => {
        const pending = await pendingMigrations(parts.db, parts.schema);
        if (pending.length > 0) throw new Error(`${pending.length} not applied, from ${pending[0]}`);
      },
    },
  ];
  const reachable = adapter.checkReachable?.bind(adapter);
  if (reachable) checks.push({ name: adapter.name, run: reachable });
  checks.push({
    name: 'eventBus',
    run: async () => {
      if (!bus.listening) throw new Error('not listening: its connection is down');
    },
  });
  if (worker) {
    checks.push({
      name: 'worker',
      run: async () => {
        if (!worker.consuming) throw new Error('takes no deliveries');
      },
    });
  }
  return checks;
}
