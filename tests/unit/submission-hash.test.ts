import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/service/canonical-json.js';
import { submissionHash } from '../../src/service/submission-hash.js';
import type { SubmitJobInput } from '../../src/service/submit-input.js';
import { validateSubmission } from '../../src/service/validate-submission.js';
import { demoTasks } from '../../src/tasks/demo-tasks.js';
import { TaskRegistry } from '../../src/tasks/task-registry.js';

const registry = new TaskRegistry(demoTasks);
const submittedAt = new Date('2025-01-02T03:04:05.000Z');
const anHourLater = new Date(submittedAt.getTime() + 3_600_000);

/** The hash of a submission as the service computes it: of the validated job, at `now`. */
async function hashOf(input: SubmitJobInput, now = submittedAt): Promise<string> {
  return submissionHash(await validateSubmission(input, registry, { maxTasksPerJob: 100, now }), input);
}

describe('canonicalJson', () => {
  it('sorts keys at every depth, so key order makes no difference', () => {
    const a = { b: 1, a: { d: [{ y: 1, x: 2 }], c: null } };
    const b = { a: { c: null, d: [{ x: 2, y: 1 }] }, b: 1 };
    expect(canonicalJson(a)).toBe('{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}');
    expect(canonicalJson(b)).toBe(canonicalJson(a));
  });

  it('sorts integer-like keys as text too', () => {
    expect(canonicalJson({ 10: 'a', 2: 'b', x: 'c' })).toBe('{"10":"a","2":"b","x":"c"}');
  });

  it('keeps array order', () => {
    expect(canonicalJson([2, 1])).not.toBe(canonicalJson([1, 2]));
  });

  it('serialises like JSON.stringify otherwise', () => {
    expect(canonicalJson({ when: new Date('2025-01-02T03:04:05.000Z') })).toBe('{"when":"2025-01-02T03:04:05.000Z"}');
    expect(canonicalJson({ gone: undefined, list: [undefined, 1] })).toBe('{"list":[null,1]}');
    expect(canonicalJson('quote " and \\ and \u2028')).toBe(JSON.stringify('quote " and \\ and \u2028'));
    expect(canonicalJson({ 'a"b': 1 })).toBe('{"a\\"b":1}');
    expect(canonicalJson(undefined)).toBe('null');
    expect(canonicalJson([1.5, -0, true, 'x'])).toBe('[1.5,0,true,"x"]');
  });
});

describe('submissionHash', () => {
  const base: SubmitJobInput = {
    name: 'report',
    idempotencyKey: 'k',
    metadata: { owner: 'ops', tags: ['a', 'b'] },
    tasks: [{ type: 'demo.echo', payload: { a: 1, b: { c: [1, 2] } } }],
  };

  it('is a sha256 in hex', async () => {
    expect(await hashOf(base)).toMatch(/^[0-9a-f]{64}$/);
  });

  it('does not depend on the order of keys in the payload, the metadata or the input', async () => {
    const reordered: SubmitJobInput = {
      tasks: [{ payload: { b: { c: [1, 2] }, a: 1 }, type: 'demo.echo' }],
      metadata: { tags: ['a', 'b'], owner: 'ops' },
      idempotencyKey: 'k',
      name: 'report',
    };
    expect(await hashOf(reordered)).toBe(await hashOf(base));
  });

  it('compares the validated job: defaults given explicitly are the same input', async () => {
    const explicit: SubmitJobInput = { ...base, queue: 'default', priority: 5, tasks: [{ ...base.tasks[0]!, maxAttempts: 3 }] };
    expect(await hashOf(explicit)).toBe(await hashOf(base));
    // The name is trimmed by validation.
    expect(await hashOf({ ...base, name: '  report ' })).toBe(await hashOf(base));
  });

  it('does not count the idempotency key itself', async () => {
    expect(await hashOf({ ...base, idempotencyKey: 'other' })).toBe(await hashOf(base));
  });

  it.each<[string, SubmitJobInput]>([
    ['a payload value', { ...base, tasks: [{ type: 'demo.echo', payload: { a: 2, b: { c: [1, 2] } } }] }],
    ['a nested payload value', { ...base, tasks: [{ type: 'demo.echo', payload: { a: 1, b: { c: [2, 1] } } }] }],
    ['a payload key', { ...base, tasks: [{ type: 'demo.echo', payload: { a: 1, b: { c: [1, 2] }, d: null } }] }],
    ['a payload type', { ...base, tasks: [{ type: 'demo.echo', payload: { a: '1', b: { c: [1, 2] } } }] }],
    ['the name', { ...base, name: 'other' }],
    ['the queue', { ...base, queue: 'reports' }],
    ['the priority', { ...base, priority: 6 }],
    ['the metadata', { ...base, metadata: { owner: 'dev', tags: ['a', 'b'] } }],
    ['a task option', { ...base, tasks: [{ ...base.tasks[0]!, maxAttempts: 4 }] }],
    ['the task type', { ...base, tasks: [{ type: 'demo.sleep', payload: {} }] }],
    ['one more task', { ...base, tasks: [...base.tasks, { type: 'demo.echo', payload: 1 }] }],
    ['a delay', { ...base, tasks: [{ ...base.tasks[0]!, delayMs: 1_000 }] }],
    ['a task key', { ...base, tasks: [{ ...base.tasks[0]!, key: 'only' }] }],
  ])('changes with %s', async (_what, changed) => {
    expect(await hashOf(changed)).not.toBe(await hashOf(base));
  });

  it('changes with a dependency between the same tasks', async () => {
    const pair = (dependsOn: string[]): SubmitJobInput => ({
      ...base,
      tasks: [{ ...base.tasks[0]!, key: 'first' }, { type: 'demo.echo', payload: 1, key: 'second', dependsOn }],
    });
    expect(await hashOf(pair(['first']))).not.toBe(await hashOf(pair([])));
  });

  it('counts an empty dependsOn as none, as a job without dependencies always hashed', async () => {
    expect(await hashOf({ ...base, tasks: [{ ...base.tasks[0]!, dependsOn: [] }] })).toBe(await hashOf(base));
  });

  it('changes with the order of the tasks', async () => {
    const two = (first: number, second: number): SubmitJobInput => ({
      ...base,
      tasks: [
        { type: 'demo.echo', payload: first },
        { type: 'demo.echo', payload: second },
      ],
    });
    expect(await hashOf(two(2, 1))).not.toBe(await hashOf(two(1, 2)));
  });

  it('counts a null payload and a missing one as the same (both are stored as null)', async () => {
    const input: SubmitJobInput = { ...base, tasks: [{ type: 'demo.echo', payload: null }] };
    const job = await validateSubmission(input, registry, { maxTasksPerJob: 100, now: submittedAt });
    const withoutPayload = { ...job, tasks: job.tasks.map((task) => ({ ...task, payload: undefined })) };
    expect(submissionHash(withoutPayload, input)).toBe(submissionHash(job, input));
  });

  it('is the same when submitted later: the run time computed from now does not count', async () => {
    expect(await hashOf(base, anHourLater)).toBe(await hashOf(base));
  });

  it('counts delayMs as the delay asked for, so the same delay re-sent later is the same input', async () => {
    const delayed: SubmitJobInput = { ...base, tasks: [{ ...base.tasks[0]!, delayMs: 60_000 }] };
    expect(await hashOf(delayed, anHourLater)).toBe(await hashOf(delayed));
    const longer: SubmitJobInput = { ...base, tasks: [{ ...base.tasks[0]!, delayMs: 120_000 }] };
    expect(await hashOf(longer)).not.toBe(await hashOf(delayed));
  });

  it('counts delayMs 0 as no delay', async () => {
    expect(await hashOf({ ...base, tasks: [{ ...base.tasks[0]!, delayMs: 0 }] })).toBe(await hashOf(base));
  });

  it('counts runAt as the instant given, however it is written, even once it has passed', async () => {
    const at = (runAt: Date | string): SubmitJobInput => ({ ...base, tasks: [{ ...base.tasks[0]!, runAt }] });
    const first = await hashOf(at('2025-01-02T03:30:00.000Z'));
    expect(await hashOf(at('2025-01-02T05:30:00+02:00'))).toBe(first);
    expect(await hashOf(at(new Date('2025-01-02T03:30:00.000Z')))).toBe(first);
    expect(await hashOf(at('2025-01-02T03:30:00.000Z'), anHourLater)).toBe(first);
    expect(await hashOf(at('2025-01-02T03:31:00.000Z'))).not.toBe(first);
    // A run time given as an instant is not the same request as a delay that lands on it.
    expect(await hashOf({ ...base, tasks: [{ ...base.tasks[0]!, delayMs: 25 * 60_000 + 55_000 }] })).not.toBe(first);
  });
});
