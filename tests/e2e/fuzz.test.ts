import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { decodeGlobalID, encodeGlobalID } from '@pothos/plugin-relay';
import { schema } from '../../schema/index.js';
import { createDatabase, type Db } from '../../src/store/database.js';
import { DocumentGenerator, type FuzzCase } from '../support/fuzz-documents.js';
import { mulberry32 } from '../support/seeded-random.js';
import { killAllJobQlProcesses, startJobQlProcess, type JobQlProcess } from '../support/jobql-process.js';
import { submitOrThrow } from '../support/job-operations.js';
import { dropSchema, newSchemaName, TEST_DATABASE_URL } from '../support/test-database.js';

const SEED = Number(process.env['FUZZ_SEED'] ?? 20261207);
const GENERATED = 3_000;
const MAX_MESSAGE_LENGTH = 300;

interface Answer {
  readonly status: number;
  readonly errors: readonly { message?: unknown; extensions?: { code?: unknown } }[];
  /** Jobs a successful submitJob answered with. */
  readonly jobIds: readonly string[];
}

/** The fixed classes that once answered 500, among the generated ones. */
function classCases(jobId: string, taskId: string): FuzzCase[] {
  const post = (label: string, query: string, variables: unknown = {}): FuzzCase => ({ kind: 'class', label, body: JSON.stringify({ query, variables }) });
  const submit = 'mutation S($i: SubmitJobInput!) { submitJob(input: $i) { __typename ... on SubmitJobSuccess { job { id } } } }';
  // As text: JSON.stringify would overflow the stack on it too.
  const nested = `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`;
  const cycle = (size: number) => `{ ...F0 } ${Array.from({ length: size }, (_, n) => `fragment F${n} on Query { ...F${(n + 1) % size} }`).join(' ')}`;
  return [
    post('NUL in a string', submit, { i: { name: 'a\u0000b', tasks: [{ type: 'demo.echo', payload: 1 }] } }),
    post('NUL in a payload', submit, { i: { name: 'n', tasks: [{ type: 'demo.echo', payload: { s: 'a\u0000b' } }] } }),
    post('lone surrogate in metadata', submit, { i: { name: 'n', metadata: { s: 'a\ud800b' }, tasks: [{ type: 'demo.echo', payload: 1 }] } }),
    { kind: 'class', label: 'payload nested 5,000 deep', body: `{"query": ${JSON.stringify(submit)}, "variables": {"i": {"name": "n", "tasks": [{"type": "demo.echo", "payload": ${nested}}]}}}` },
    post('jobs after "x"', '{ jobs(after: "x") { edges { cursor } } }'),
    post('offset cursor NaN', `{ job(id: "${jobId}") { tasks(after: "${Buffer.from('OffsetConnection:NaN').toString('base64')}") { edges { cursor } } } }`),
    post('offset cursor 99999999999', `{ job(id: "${jobId}") { tasks(after: "${Buffer.from('OffsetConnection:99999999999').toString('base64')}") { edges { cursor } } } }`),
    post('3 MB ID literal', `{ job(id: "${'J'.repeat(3 * 1024 * 1024)}") { id } }`),
    { kind: 'class', label: '5 MB ID literal', body: JSON.stringify({ query: `{ job(id: "${'J'.repeat(5 * 1024 * 1024)}") { id } }` }) },
    post('cycle of 5,000 fragments', cycle(5_000)),
    post('cycle of 240 fragments', cycle(240)),
    post('5 MB invalid runAt', submit, { i: { name: 'n', tasks: [{ type: 'demo.echo', payload: 1, runAt: 'x'.repeat(3 * 1024 * 1024) }] } }),
    post('retry a task of a made-up job', 'mutation { retryTask(id: "VGFzazox") { __typename } }'),
    post('cancel with an id of another type', `mutation { cancelJob(id: "${taskId}") { __typename } }`),
    { kind: 'class', label: 'invalid JSON body', body: '{"query": "{ __typename }", ' },
    { kind: 'class', label: 'GET with invalid variables', body: '', method: 'GET', search: '?query=%7B__typename%7D&variables=%7Bnope' },
    { kind: 'class', label: 'GET with invalid extensions', body: '', method: 'GET', search: '?query=%7B__typename%7D&extensions=%5B' },
    {
      kind: 'class',
      label: 'subscription after 2^63',
      overWebSocket: true,
      body: JSON.stringify({
        query: 'subscription W($j: ID!, $a: ID) { jobProgress(jobId: $j, after: $a) { id } }',
        variables: { j: jobId, a: encodeGlobalID('JobEvent', `${decodeGlobalID(jobId).id}:9223372036854775808`) },
      }),
    },
  ];
}

function generatedCases(generator: DocumentGenerator, random: () => number): FuzzCase[] {
  const cases: FuzzCase[] = [];
  for (let n = 0; n < GENERATED; n++) {
    const roll = random();
    if (roll < 0.15) {
      cases.push({ kind: 'broken', label: `broken ${n}`, body: generator.broken() });
      continue;
    }
    const { operation, document, variables } = generator.operation();
    // A submission taken apart could still run and lose the selection that names its job.
    const mutated = roll < 0.5 && !document.includes('submitJob');
    const query = mutated ? generator.mutate(document) : document;
    cases.push({ kind: mutated ? 'mutated' : 'valid', label: `${mutated ? 'mutated' : 'valid'} ${n}`, overWebSocket: operation === 'subscription', body: JSON.stringify({ query, variables }) });
  }
  return cases;
}

async function overHttp(url: string, sent: FuzzCase): Promise<Answer> {
  const response = await fetch(sent.method === 'GET' ? `${url}${sent.search ?? ''}` : url, {
    method: sent.method ?? 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/graphql-response+json, application/json', 'x-graphql-csrf': '1' },
    ...(sent.method === 'GET' ? {} : { body: sent.body }),
  });
  const text = await response.text();
  const parsed = JSON.parse(text) as { data?: Record<string, unknown> | null; errors?: Answer['errors'] };
  const submitted = parsed.data?.['submitJob'] as { __typename?: string; job?: { id?: string } } | undefined;
  return { status: response.status, errors: parsed.errors ?? [], jobIds: submitted?.__typename === 'SubmitJobSuccess' && submitted.job?.id ? [submitted.job.id] : [] };
}

/** A subscription's first answer (an event, its end, or its errors), or nothing within a second. */
function overWebSocket(client: ReturnType<typeof createClient>, sent: FuzzCase): Promise<Answer> {
  const payload = JSON.parse(sent.body) as { query: unknown; variables?: Record<string, unknown> };
  return new Promise((resolve) => {
    let stop = (): void => {};
    const done = (errors: Answer['errors']) => {
      clearTimeout(timer);
      stop();
      resolve({ status: 200, errors, jobIds: [] });
    };
    const timer = setTimeout(() => done([]), 1_000);
    stop = client.subscribe(
      { query: String(payload.query), ...(payload.variables ? { variables: payload.variables } : {}) },
      {
        next: (result) => done((result.errors ?? []) as Answer['errors']),
        error: (error) => done(Array.isArray(error) ? (error as Answer['errors']) : [{ message: String(error), extensions: { code: 'CONNECTION_ERROR' } }]),
        complete: () => done([]),
      },
    );
  });
}

describe('fuzzing the API with documents made from its schema', () => {
  let server: JobQlProcess;
  let db: Db;
  const databaseSchema = newSchemaName('fuzz');

  beforeAll(async () => {
    server = await startJobQlProcess('all', { DATABASE_URL: TEST_DATABASE_URL, DATABASE_SCHEMA: databaseSchema, QUEUE_ADAPTER: 'postgres' });
    db = createDatabase({ connectionString: TEST_DATABASE_URL, schema: databaseSchema, maxConnections: 2 });
  });
  afterAll(async () => {
    if (server?.child.exitCode !== null) console.error(`[fuzz] the server exited (${server?.child.exitCode}):\n${server?.output().slice(-4_000)}`);
    killAllJobQlProcesses();
    await db?.destroy();
    await dropSchema(databaseSchema);
  });

  it(`answers ${GENERATED} generated requests and the known classes with typed, short errors, never a 5xx, and writes only what succeeded`, async () => {
    const seededJobs = [
      await submitOrThrow(server.url, { name: 'fuzz-a', tasks: [{ type: 'demo.echo', payload: 1 }, { type: 'demo.echo', payload: 2, delayMs: 3_600_000 }] }),
      await submitOrThrow(server.url, { name: 'fuzz-b', tasks: [{ type: 'demo.echo', payload: 3, delayMs: 3_600_000 }] }),
    ];
    const jobId = seededJobs[0]?.id ?? '';
    const taskId = seededJobs[0]?.taskIds[0] ?? '';
    const random = mulberry32(SEED);
    const generator = new DocumentGenerator(schema, random, { own: seededJobs.flatMap((job) => [job.id, ...job.taskIds]) });
    const cases = [...classCases(jobId, taskId), ...generatedCases(generator, random)];

    const client = createClient({ url: server.url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, lazy: true, retryAttempts: 3 });
    const problems: string[] = [];
    const submitted = new Set(seededJobs.map((job) => decodeGlobalID(job.id).id));
    const counts = { valid: 0, mutated: 0, broken: 0, class: 0, errors: 0 };
    const queue = [...cases];
    const lane = async () => {
      for (let sent = queue.shift(); sent; sent = queue.shift()) {
        counts[sent.kind] += 1;
        let answer: Answer;
        try {
          answer = sent.overWebSocket ? await overWebSocket(client, sent) : await overHttp(server.url, sent);
        } catch (error) {
          problems.push(`${sent.label}: no JSON answer (${String(error)})`);
          continue;
        }
        for (const id of answer.jobIds) submitted.add(decodeGlobalID(id).id);
        if (answer.status >= 500) problems.push(`${sent.label}: HTTP ${answer.status} ${JSON.stringify(answer.errors).slice(0, 200)}`);
        if (answer.status === 413 && sent.body.length < 4 * 1024 * 1024) problems.push(`${sent.label}: 413 for a body under the limit`);
        for (const error of answer.errors) {
          counts.errors += 1;
          if (typeof error.extensions?.code !== 'string') problems.push(`${sent.label}: an error without a code: ${JSON.stringify(error).slice(0, 200)}`);
          if (error.extensions?.code === 'INTERNAL_SERVER_ERROR') problems.push(`${sent.label}: INTERNAL_SERVER_ERROR ${sent.body.slice(0, 300)}`);
          if (typeof error.message !== 'string' || error.message.length > MAX_MESSAGE_LENGTH) problems.push(`${sent.label}: a message of ${String(error.message).length} characters`);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, lane));
    await client.dispose();
    console.log(`[fuzz] seed ${SEED}: ${JSON.stringify({ ...counts, submitted: submitted.size - seededJobs.length })}`);

    expect(problems.slice(0, 20)).toEqual([]);
    expect(counts.valid + counts.mutated + counts.broken).toBe(GENERATED);
    expect(counts.errors).toBeGreaterThan(GENERATED / 2);
    // The process lives and answers.
    expect(server.child.exitCode).toBeNull();
    expect((await overHttp(server.url, { kind: 'valid', label: 'probe', body: JSON.stringify({ query: '{ __typename }' }) })).status).toBe(200);
    // Every job, task and event row belongs to a job some request was answered SubmitJobSuccess for.
    const ids = [...submitted];
    for (const table of ['jobs', 'tasks', 'jobEvents'] as const) {
      const column = table === 'jobs' ? 'id' : 'jobId';
      const stray = await db.selectFrom(table).select((eb) => eb.fn.countAll().as('n')).where(column, 'not in', ids).executeTakeFirstOrThrow();
      expect(Number(stray.n), `${table} rows of no successful submission`).toBe(0);
    }
    expect(Number((await db.selectFrom('jobs').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n)).toBe(ids.length);
  }, 90_000);
});
