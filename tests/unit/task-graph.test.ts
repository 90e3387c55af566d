import { describe, expect, it } from 'vitest';
import { checkTaskGraph, type GraphTaskInput } from '../../src/domain/task-graph.js';

const LIMITS = { maxEdges: 100 };

function graphOf(tasks: GraphTaskInput[], limits = LIMITS) {
  const check = checkTaskGraph(tasks, limits);
  if (!check.ok) throw new Error(`expected a valid graph, got ${JSON.stringify(check.issues)}`);
  return check.graph;
}

function issuesOf(tasks: GraphTaskInput[], limits = LIMITS) {
  const check = checkTaskGraph(tasks, limits);
  if (check.ok) throw new Error('expected issues');
  return check.issues;
}

/** Every task ranks after each task it depends on, and the ranks are 0…n−1. */
function expectTopological(dependsOn: readonly (readonly number[])[], rank: readonly number[]): void {
  expect([...rank].sort((a, b) => a - b)).toEqual(rank.map((_, i) => i));
  for (const [position, targets] of dependsOn.entries()) for (const target of targets) expect(rank[target]).toBeLessThan(rank[position]!);
}

describe('checkTaskGraph', () => {
  it('ranks a job without dependencies as listed', () => {
    expect(graphOf([{}, { key: 'a' }, {}])).toEqual({ dependsOn: [[], [], []], rank: [0, 1, 2], edgeCount: 0 });
  });

  it('resolves keys to positions, in the order given, and ranks dependencies first even when listed later', () => {
    const graph = graphOf([
      { key: 'report', dependsOn: ['fetch', 'parse'] },
      { key: 'parse', dependsOn: ['fetch'] },
      { key: 'fetch' },
      { key: 'other' },
    ]);
    expect(graph.dependsOn).toEqual([[2, 1], [2], [], []]);
    expect(graph.edgeCount).toBe(3);
    expect(graph.rank).toEqual([3, 2, 0, 1]);
    expectTopological(graph.dependsOn, graph.rank);
  });

  it('ranks a fan-out and fan-in of 1,000 tasks topologically', () => {
    const tasks: GraphTaskInput[] = [{ key: 'split' }];
    for (let i = 0; i < 998; i++) tasks.push({ key: `part${i}`, dependsOn: ['split'] });
    tasks.push({ key: 'join', dependsOn: tasks.slice(1).map((t) => t.key!) });
    const graph = graphOf(tasks, { maxEdges: 10_000 });
    expect(graph.edgeCount).toBe(998 * 2);
    expectTopological(graph.dependsOn, graph.rank);
  });

  it('handles a chain of 10,000 tasks, listed last first, without running out of stack', () => {
    const count = 10_000;
    // Task i depends on task i + 1: the last listed runs first.
    const tasks: GraphTaskInput[] = Array.from({ length: count }, (_, i) => ({ key: `t${i}`, ...(i < count - 1 ? { dependsOn: [`t${i + 1}`] } : {}) }));
    const check = checkTaskGraph(tasks, { maxEdges: count });
    expect(check.ok).toBe(true);
    if (check.ok) expect(check.graph.rank[count - 1]).toBe(0);
    // Closing the chain into one 10,000-long cycle is found too.
    tasks[count - 1] = { key: `t${count - 1}`, dependsOn: ['t0'] };
    const cyclic = checkTaskGraph(tasks, { maxEdges: count });
    expect(cyclic.ok).toBe(false);
    if (!cyclic.ok) expect(cyclic.issues[0]?.message).toMatch(/^dependencies form a cycle: "t0" → "t1" → /);
  });

  it('refuses a key used twice, naming the first task that has it', () => {
    expect(issuesOf([{ key: 'a' }, { key: 'b' }, { key: 'a' }])).toEqual([{ path: '2.key', message: '"a" is already the key of task 0' }]);
  });

  it('refuses an unknown key, a task that depends on itself and a key named twice, each at its place', () => {
    expect(issuesOf([{ key: 'a', dependsOn: ['a'] }, { key: 'b', dependsOn: ['a', 'nope', 'a'] }])).toEqual([
      { path: '0.dependsOn.0', message: 'a task cannot depend on itself' },
      { path: '1.dependsOn.1', message: 'no task of this job has the key "nope"' },
      { path: '1.dependsOn.2', message: '"a" is named twice' },
    ]);
  });

  it('refuses a cycle, naming it', () => {
    expect(issuesOf([{ key: 'a', dependsOn: ['c'] }, { key: 'b', dependsOn: ['a'] }, { key: 'c', dependsOn: ['b'] }, { key: 'd' }])).toEqual([
      { path: '0.dependsOn', message: 'dependencies form a cycle: "a" → "c" → "b" → "a"' },
    ]);
    expect(issuesOf([{ key: 'free' }, { key: 'x', dependsOn: ['y'] }, { key: 'y', dependsOn: ['x'] }])).toEqual([
      { path: '1.dependsOn', message: 'dependencies form a cycle: "x" → "y" → "x"' },
    ]);
  });

  it('refuses more dependencies in all than the limit', () => {
    const tasks: GraphTaskInput[] = [{ key: 'a' }, { key: 'b' }, { dependsOn: ['a', 'b'] }, { dependsOn: ['a', 'b'] }];
    expect(issuesOf(tasks, { maxEdges: 3 })).toEqual([{ path: '', message: 'a job may have at most 3 dependencies in all, this one has 4' }]);
  });
});
