import type { Migration } from 'kysely';
import * as m0001 from './0001_create_jobs.js';
import * as m0002 from './0002_create_tasks.js';
import * as m0003 from './0003_create_task_attempts.js';
import * as m0004 from './0004_create_job_events.js';
import * as m0005 from './0005_create_queue_deliveries.js';
import * as m0006 from './0006_task_backoff.js';
import * as m0007 from './0007_idempotency_request_hash.js';
import * as m0008 from './0008_job_progress.js';
import * as m0009 from './0009_task_dependencies.js';
import * as m0010 from './0010_jobs_finished_index.js';
import * as m0011 from './0011_deferred_job_foreign_keys.js';
import * as m0012 from './0012_claimable_deliveries.js';
import * as m0013 from './0013_claimable_deliveries_plpgsql.js';
import * as m0014 from './0014_tenants.js';
import * as m0015 from './0015_api_keys.js';
import * as m0016 from './0016_workers_and_queue_controls.js';
import * as m0017 from './0017_rate_limits.js';
import * as m0018 from './0018_schedules.js';
import * as m0019 from './0019_task_trace_parent.js';
import * as m0020 from './0020_concurrency_keys.js';
import * as m0021 from './0021_worker_throughput.js';

/**
 * Every migration, by name, in order. Imported statically so the same code runs under tsx, vitest
 * and any bundler; a test checks that each numbered file here is listed.
 */
export const migrations: Record<string, Migration> = {
  '0001_create_jobs': m0001,
  '0002_create_tasks': m0002,
  '0003_create_task_attempts': m0003,
  '0004_create_job_events': m0004,
  '0005_create_queue_deliveries': m0005,
  '0006_task_backoff': m0006,
  '0007_idempotency_request_hash': m0007,
  '0008_job_progress': m0008,
  '0009_task_dependencies': m0009,
  '0010_jobs_finished_index': m0010,
  '0011_deferred_job_foreign_keys': m0011,
  '0012_claimable_deliveries': m0012,
  '0013_claimable_deliveries_plpgsql': m0013,
  '0014_tenants': m0014,
  '0015_api_keys': m0015,
  '0016_workers_and_queue_controls': m0016,
  '0017_rate_limits': m0017,
  '0018_schedules': m0018,
  '0019_task_trace_parent': m0019,
  '0020_concurrency_keys': m0020,
  '0021_worker_throughput': m0021,
};
