import { encodeGlobalID } from '@pothos/plugin-relay';
import { decodeBoundedGlobalID } from '../global-id.js';
import { rollUpJobProgress } from '../../src/domain/progress-roll-up.js';
import { builder } from '../builder.js';
import { JobEventTypeEnum, JobStatusEnum, TaskStatusEnum } from './enums.js';
import { JobProgressRef } from './job-progress.js';
import { ProgressRef, TaskRef } from './task.js';
import { TaskErrorRef } from './task-error.js';
import type { JobEvent } from '../../src/domain/job-event.js';
import { MAX_STORED_INTEGER } from '../../src/domain/stored-integer.js';

const EVENT_TYPENAME = 'JobEvent';

function encodeEventId(event: Pick<JobEvent, 'jobId' | 'seq'>): string {
  return encodeGlobalID(EVENT_TYPENAME, `${event.jobId}:${event.seq}`);
}

/** The job and sequence number an event ID names, or undefined when it is not an event ID. */
export function decodeEventId(id: string): { jobId: string; seq: number } | undefined {
  try {
    const { typename, id: raw } = decodeBoundedGlobalID(id);
    const match = /^(.+):(\d+)$/.exec(raw);
    if (typename !== EVENT_TYPENAME || !match?.[1] || !match[2]) return undefined;
    const seq = Number(match[2]);
    return seq <= MAX_STORED_INTEGER ? { jobId: match[1], seq } : undefined;
  } catch {
    return undefined;
  }
}

export const JobEventRef = builder.objectRef<JobEvent>('JobEvent').implement({
  description: 'Something that happened to a job or one of its tasks. Events of a job are numbered without gaps.',
  fields: (t) => ({
    id: t.id({ description: 'Pass it as `after` to resume a subscription after this event.', resolve: encodeEventId }),
    seq: t.exposeInt('seq', { description: "The event's number within its job, from 1." }),
    type: t.expose('type', { type: JobEventTypeEnum }),
    at: t.expose('at', { type: 'DateTime' }),
    task: t.field({
      type: TaskRef,
      nullable: true,
      // Through the request's own loader, never the node cache: see Context.
      resolve: (event, _args, context) => (event.taskId ? context.loaders.task.load(event.taskId) : null),
    }),
    attempt: t.int({ nullable: true, resolve: (event) => event.data.attempt ?? null }),
    taskStatus: t.field({ type: TaskStatusEnum, nullable: true, resolve: (event) => event.data.taskStatus ?? null }),
    progress: t.field({ type: ProgressRef, nullable: true, resolve: (event) => event.data.progress ?? null }),
    jobStatus: t.field({
      type: JobStatusEnum,
      nullable: true,
      description: 'The status the job moved to (JOB_STATUS_CHANGED).',
      resolve: (event) => event.data.jobStatus ?? null,
    }),
    jobProgress: t.field({
      type: JobProgressRef,
      nullable: true,
      description: "The job's progress as it became (JOB_PROGRESS).",
      resolve: (event) => (event.data.jobProgress ? rollUpJobProgress(event.data.jobProgress) : null),
    }),
    error: t.field({ type: TaskErrorRef, nullable: true, resolve: (event) => event.data.error ?? null }),
    message: t.string({ nullable: true, resolve: (event) => event.data.message ?? null }),
  }),
});
