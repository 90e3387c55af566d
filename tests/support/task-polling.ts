import { TaskAttempts } from '../graphql/operations.js';
import type { TaskAttemptsQuery } from '../graphql/generated/graphql.js';
import { execute } from './graphql-client.js';

export type TaskDetail = NonNullable<TaskAttemptsQuery['task']>;

/** A task with its attempts, over HTTP; throws when there is no such task. */
export async function taskDetail(url: string, taskId: string): Promise<TaskDetail> {
  const { task } = await execute(url, TaskAttempts, { id: taskId });
  if (!task) throw new Error(`task ${taskId} not found`);
  return task;
}

/** Polls the task until `done` holds for it, and returns it. */
export async function waitForTask(url: string, taskId: string, done: (task: TaskDetail) => boolean, timeoutMs = 20_000): Promise<TaskDetail> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const task = await taskDetail(url, taskId);
    if (done(task)) return task;
    if (Date.now() > deadline) throw new Error(`task ${taskId} still ${task.status} after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Polls until every one of the tasks is in `status`. */
export async function waitForTasks(url: string, taskIds: readonly string[], status: string, timeoutMs = 20_000): Promise<TaskDetail[]> {
  return Promise.all(taskIds.map((id) => waitForTask(url, id, (task) => task.status === status, timeoutMs)));
}
