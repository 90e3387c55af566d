import { sql, type RawBuilder } from 'kysely';
import { deriveJobStatus, type JobStatus, type TaskStatus } from '../domain/state-machine.js';

/**
 * `deriveJobStatus` as a SQL expression over counts, for the writes that work out a job's new
 * status inside one statement (job-bookkeeping.ts). The rules are the state machine's, spelled in
 * SQL; tests/store/job-status-sql.test.ts checks the two agree on every mix of counts 0–2.
 */
export function jobStatusSql(count: (status: TaskStatus) => RawBuilder<number>): RawBuilder<JobStatus> {
  const c = count;
  const status = (s: JobStatus): RawBuilder<JobStatus> => sql.lit(s satisfies ReturnType<typeof deriveJobStatus>);
  const total = sql`(${c('BLOCKED')} + ${c('QUEUED')} + ${c('SCHEDULED')} + ${c('RUNNING')} + ${c('SUCCEEDED')} + ${c('FAILED')} + ${c('CANCELLED')})`;
  return sql<JobStatus>`case
    when ${c('BLOCKED')} + ${c('QUEUED')} + ${c('SCHEDULED')} + ${c('RUNNING')} > 0 then
      case when ${c('RUNNING')} + ${c('SUCCEEDED')} + ${c('FAILED')} > 0 then ${status('RUNNING')} else ${status('QUEUED')} end
    when ${c('SUCCEEDED')} = ${total} then ${status('SUCCEEDED')}
    when ${c('CANCELLED')} = ${total} then ${status('CANCELLED')}
    when ${c('SUCCEEDED')} > 0 then ${status('PARTIALLY_SUCCEEDED')}
    else ${status('FAILED')}
  end`;
}
