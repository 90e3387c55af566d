import { expect } from 'vitest';

export interface StoredAttempt {
  readonly taskId: string;
  readonly number: number;
  readonly status: string;
  readonly error: { readonly code: string } | null;
  readonly startedAt: Date;
  readonly finishedAt: Date | null;
}

/**
 * Checks the stored attempts of finished tasks: each task's last attempt SUCCEEDED, every
 * earlier one FAILED with one of `allowedCodes` and ended before the next began (never two live
 * attempts of one task). Returns how many attempts were re-runs.
 */
export function expectSequentialAttempts(attempts: readonly StoredAttempt[], taskCount: number, allowedCodes: readonly string[]): number {
  const byTask = new Map<string, StoredAttempt[]>();
  for (const attempt of attempts) byTask.set(attempt.taskId, [...(byTask.get(attempt.taskId) ?? []), attempt]);
  expect(byTask.size).toBe(taskCount);
  let reruns = 0;
  for (const [taskId, history] of byTask) {
    history.sort((a, b) => a.number - b.number);
    expect(history.at(-1)?.status, `task ${taskId}`).toBe('SUCCEEDED');
    for (let i = 1; i < history.length; i++) {
      const previous = history[i - 1]!;
      const next = history[i]!;
      expect(previous.status, `task ${taskId} attempt ${previous.number}`).toBe('FAILED');
      expect(allowedCodes, `task ${taskId} attempt ${previous.number}`).toContain(previous.error?.code);
      expect(next.startedAt.getTime(), `task ${taskId} attempt ${next.number} started before ${previous.number} ended`).toBeGreaterThanOrEqual(
        previous.finishedAt?.getTime() ?? Number.POSITIVE_INFINITY,
      );
      reruns += 1;
    }
  }
  return reruns;
}
