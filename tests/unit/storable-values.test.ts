import { describe, expect, it } from 'vitest';
import { MAX_NESTING, unstorableIssues } from '../../src/service/storable-values.js';

describe('unstorableIssues', () => {
  it('passes ordinary JSON, emoji (surrogate pairs) included', () => {
    expect(unstorableIssues({ name: 'ok 🎉', tasks: [{ payload: { a: [1, 'b', null, { c: true }] } }] })).toEqual([]);
  });

  it('names each NUL character and lone surrogate by its path, in values and keys', () => {
    expect(unstorableIssues({ name: 'a\u0000', tasks: [{ payload: { ['k\u0000']: 'x', s: 'x\ud800y', t: 'x\udc00' } }] }).map((issue) => issue.path).sort()).toEqual(
      ['name', 'tasks.0.payload.k\u0000', 'tasks.0.payload.s', 'tasks.0.payload.t'].sort(),
    );
  });

  it('refuses nesting past MAX_NESTING without using the stack, and lists at most 20 issues', () => {
    let deep: unknown = 1;
    for (let level = 0; level < 100_000; level++) deep = [deep];
    expect(unstorableIssues({ payload: deep })).toEqual([{ path: `payload${'.0'.repeat(MAX_NESTING - 1)}`, message: `nests deeper than ${MAX_NESTING} levels` }]);
    let fine: unknown = 1;
    for (let level = 0; level < MAX_NESTING - 1; level++) fine = [fine];
    expect(unstorableIssues({ payload: fine })).toEqual([]);
    expect(unstorableIssues(Array.from({ length: 50 }, () => '\u0000'))).toHaveLength(20);
  });
});
