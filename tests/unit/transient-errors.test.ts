import { describe, expect, it } from 'vitest';
import { isTransientDatabaseError, retryTransient } from '../../src/store/transient-errors.js';

const coded = (code: string): Error => Object.assign(new Error(`failed with ${code}`), { code });

describe('isTransientDatabaseError', () => {
  it.each(['57P01', '57P02', '57P03', '08006', '08003', '40001', '40P01'])('treats SQLSTATE %s as transient', (code) => {
    expect(isTransientDatabaseError(coded(code))).toBe(true);
  });

  it.each(['Connection terminated unexpectedly', 'Client has encountered a connection error and is not queryable', 'connect ECONNREFUSED 127.0.0.1:5432'])(
    'treats %j as transient',
    (message) => {
      expect(isTransientDatabaseError(new Error(message))).toBe(true);
    },
  );

  it.each([coded('23505'), coded('42P01'), new Error('boom'), 'a string', null, undefined])('treats %j as permanent', (error) => {
    expect(isTransientDatabaseError(error)).toBe(false);
  });
});

describe('retryTransient', () => {
  it('runs the write again after transient failures and returns its result', async () => {
    let calls = 0;
    const retried: unknown[] = [];
    const result = await retryTransient(
      async () => {
        calls += 1;
        if (calls < 3) throw coded('57P01');
        return 'written';
      },
      { budgetMs: 5_000, onRetry: (error) => retried.push(error) },
    );
    expect(result).toBe('written');
    expect(calls).toBe(3);
    expect(retried).toHaveLength(2);
  });

  it('throws a permanent error at once', async () => {
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls += 1;
        throw coded('23505');
      }, { budgetMs: 5_000 }),
    ).rejects.toMatchObject({ code: '23505' });
    expect(calls).toBe(1);
  });

  it('gives up with the last error once the budget is spent', async () => {
    let calls = 0;
    await expect(
      retryTransient(async () => {
        calls += 1;
        throw coded('08006');
      }, { budgetMs: 200, maxDelayMs: 50 }),
    ).rejects.toMatchObject({ code: '08006' });
    expect(calls).toBeGreaterThanOrEqual(2);
  });
});
