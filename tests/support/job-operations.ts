import type { Client } from 'graphql-ws';
import { JobProgress, SubmitJob } from '../graphql/operations.js';
import type { SubmitJobInput } from '../graphql/generated/graphql.js';
import { execute, subscribe, type Caller } from './graphql-client.js';

/** Submits over HTTP; throws unless the answer is SubmitJobSuccess. */
export async function submitOrThrow(url: string, input: SubmitJobInput, caller: Caller = {}): Promise<{ id: string; taskIds: string[] }> {
  const { submitJob } = await execute(url, SubmitJob, { input }, caller);
  if (submitJob.__typename !== 'SubmitJobSuccess') throw new Error(`submit failed: ${JSON.stringify(submitJob)}`);
  return { id: submitJob.job.id, taskIds: submitJob.job.tasks.edges.map((e) => e.node.id) };
}

/** Subscribes to a job's events over graphql-ws. */
export function watchJob(ws: Client, jobId: string, after?: string) {
  return subscribe(ws, JobProgress, { jobId, ...(after ? { after } : {}) }, (data) => data.jobProgress);
}
