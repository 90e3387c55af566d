/**
 * The dependencies between the tasks of one job: each task may have a `key`, and name in
 * `dependsOn` the keys of tasks it must wait for. Pure: the submission is checked here, and the
 * store keeps what this works out.
 *
 * A job's graph must be acyclic, and every name in `dependsOn` must be the key of another task of
 * the same job. `rank` orders the tasks so that every task comes after all it depends on (ties in
 * list order): it is the order in which every write that locks several of a job's tasks locks
 * them, so a completion that goes on to its dependants never waits for a lock that a writer
 * going the other way holds.
 */

export interface GraphTaskInput {
  readonly key?: string | null | undefined;
  readonly dependsOn?: readonly string[] | null | undefined;
}

export interface GraphIssue {
  /** Relative to the task list: `3.key`, `4.dependsOn.1`. */
  readonly path: string;
  readonly message: string;
}

export interface TaskGraph {
  /** For each task, the positions of the tasks it depends on, in the order given. */
  readonly dependsOn: readonly (readonly number[])[];
  /** For each task, its place in the lock order (0 first); a permutation of the positions. */
  readonly rank: readonly number[];
  readonly edgeCount: number;
}

export type GraphCheck = { readonly ok: true; readonly graph: TaskGraph } | { readonly ok: false; readonly issues: GraphIssue[] };

export function checkTaskGraph(tasks: readonly GraphTaskInput[], limits: { readonly maxEdges: number }): GraphCheck {
  const issues: GraphIssue[] = [];
  const positionOfKey = new Map<string, number>();
  for (const [position, task] of tasks.entries()) {
    if (task.key === undefined || task.key === null) continue;
    const first = positionOfKey.get(task.key);
    if (first === undefined) positionOfKey.set(task.key, position);
    else issues.push({ path: `${position}.key`, message: `"${task.key}" is already the key of task ${first}` });
  }

  let edgeCount = 0;
  const dependsOn = tasks.map((task, position) => {
    const targets: number[] = [];
    for (const [index, key] of (task.dependsOn ?? []).entries()) {
      const target = positionOfKey.get(key);
      const path = `${position}.dependsOn.${index}`;
      if (target === undefined) issues.push({ path, message: `no task of this job has the key "${key}"` });
      else if (target === position) issues.push({ path, message: 'a task cannot depend on itself' });
      else if (targets.includes(target)) issues.push({ path, message: `"${key}" is named twice` });
      else targets.push(target);
    }
    edgeCount += targets.length;
    return targets;
  });
  if (edgeCount > limits.maxEdges) {
    issues.push({ path: '', message: `a job may have at most ${limits.maxEdges} dependencies in all, this one has ${edgeCount}` });
  }
  if (issues.length > 0) return { ok: false, issues };

  const rank = topologicalRank(dependsOn);
  if (rank) return { ok: true, graph: { dependsOn, rank, edgeCount } };
  const cycle = findCycle(dependsOn);
  const names = cycle.map((position) => `"${tasks[position]?.key ?? position}"`);
  return {
    ok: false,
    issues: [{ path: `${cycle[0] ?? 0}.dependsOn`, message: `dependencies form a cycle: ${[...names, names[0]].join(' → ')}` }],
  };
}

/**
 * Kahn's algorithm, seeded with the ready tasks in list order, so a job without dependencies
 * ranks as listed. Undefined when there is a cycle.
 */
function topologicalRank(dependsOn: readonly (readonly number[])[]): number[] | undefined {
  const count = dependsOn.length;
  const waitingOn = dependsOn.map((targets) => targets.length);
  const dependants: number[][] = Array.from({ length: count }, () => []);
  for (const [position, targets] of dependsOn.entries()) for (const target of targets) dependants[target]?.push(position);

  const order: number[] = [];
  for (let position = 0; position < count; position++) if (waitingOn[position] === 0) order.push(position);
  const rank = new Array<number>(count);
  for (let next = 0; next < order.length; next++) {
    const position = order[next]!;
    rank[position] = next;
    for (const dependant of dependants[position] ?? []) {
      const left = (waitingOn[dependant] ?? 0) - 1;
      waitingOn[dependant] = left;
      if (left === 0) order.push(dependant);
    }
  }
  return order.length === count ? rank : undefined;
}

/** One cycle, as positions in dependency order; only called when there is one. */
function findCycle(dependsOn: readonly (readonly number[])[]): number[] {
  const state = new Array<0 | 1 | 2>(dependsOn.length).fill(0); // unseen, on the path, done
  const path: number[] = [];
  for (let start = 0; start < dependsOn.length; start++) {
    if (state[start] !== 0) continue;
    // Iterative depth-first search: a 10,000-task chain would overflow the call stack.
    const stack: { node: number; next: number }[] = [{ node: start, next: 0 }];
    state[start] = 1;
    path.push(start);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const targets = dependsOn[frame.node] ?? [];
      if (frame.next < targets.length) {
        const target = targets[frame.next++]!;
        if (state[target] === 1) return path.slice(path.indexOf(target));
        if (state[target] === 0) {
          state[target] = 1;
          path.push(target);
          stack.push({ node: target, next: 0 });
        }
      } else {
        state[frame.node] = 2;
        path.pop();
        stack.pop();
      }
    }
  }
  return [];
}
