import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';
import { rowCounts } from '../support/test-database.js';

const SUBMIT = 'mutation($i: SubmitJobInput!) { submitJob(input: $i) { __typename ... on Error { code message } } }';
const submitting = (task: string): string => `{"query":${JSON.stringify(SUBMIT)},"variables":{"i":{"name":"a","tasks":[${task}]}}}`;
const json = (value: unknown): string => JSON.stringify(value);

/** Input that once answered 500, or echoed itself back, or carried no code: each with a name. */
const CASES: { readonly name: string; readonly body: string; readonly method?: 'GET'; readonly query?: string }[] = [
  { name: 'a NUL byte in a name', body: json({ query: SUBMIT, variables: { i: { name: 'a\u0000b', tasks: [{ type: 'demo.echo', payload: 1 }] } } }) },
  { name: 'a NUL byte in a payload and in metadata', body: json({ query: SUBMIT, variables: { i: { name: 'a', metadata: { k: 'x\u0000' }, tasks: [{ type: 'demo.echo', payload: 'x\u0000' }] } } }) },
  { name: 'a NUL byte in a key of a payload', body: json({ query: SUBMIT, variables: { i: { name: 'a', tasks: [{ type: 'demo.echo', payload: { 'k\u0000': 1 } }] } } }) },
  { name: 'a lone surrogate in a payload', body: submitting('{"type":"demo.echo","payload":"\\ud800"}') },
  { name: 'a payload nested 5,000 deep', body: submitting(`{"type":"demo.echo","payload":${'['.repeat(5_000)}1${']'.repeat(5_000)}}`) },
  { name: 'a cursor that is not one', body: json({ query: '{ jobs(after: "x") { edges { node { id } } } }' }) },
  { name: 'a cursor with a bad id', body: json({ query: `{ jobs(after: "${Buffer.from('2026-01-01T00:00:00Z|nope').toString('base64url')}") { edges { node { id } } } }` }) },
  { name: 'a 5 MB-ish ID', body: json({ query: 'query($id: ID!) { job(id: $id) { id } }', variables: { id: 'x'.repeat(3_000_000) } }) },
  { name: 'a huge invalid runAt', body: json({ query: SUBMIT, variables: { i: { name: 'a', tasks: [{ type: 'demo.echo', payload: 1, runAt: 'x'.repeat(100_000) }] } } }) },
  { name: 'an invalid JSON body', body: '{"query": "{ __typename ' },
  { name: 'a variable of the wrong type', body: json({ query: 'query($id: ID!) { job(id: $id) { id } }', variables: { id: { a: 1 } } }) },
  { name: 'a global ID of no type', body: json({ query: '{ node(id: "bm90LWEtdHlwZTox") { id } }' }) },
  { name: 'a syntax error', body: json({ query: '{ __typename' }) },
  { name: 'a GET with invalid variables', body: '', method: 'GET', query: `query=${encodeURIComponent('{ __typename }')}&variables=%7Bx` },
];

describe('input a hostile or careless client sends', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory' } });
  });
  afterAll(() => app?.stop());

  it.each(CASES)('answers $name with a short, coded error, and writes nothing', async ({ body, method, query }) => {
    const before = await rowCounts(app.db);
    const response =
      method === 'GET'
        ? await fetch(`${app.url}?${query}`, { headers: { 'x-graphql-csrf': '1' } })
        : await fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    expect(response.status).toBeLessThan(500);
    const answer = (await response.json()) as { data?: Record<string, { __typename?: string; code?: string; message?: string } | null>; errors?: { message: string; extensions?: Record<string, unknown> }[] };
    const errors = answer.errors ?? [];
    const mutationError = Object.values(answer.data ?? {}).find((value) => value?.__typename?.endsWith('Error'));
    expect(errors.length > 0 || mutationError !== undefined).toBe(true);
    for (const error of errors) {
      expect(typeof error.extensions?.['code']).toBe('string');
      expect(error.extensions?.['code']).not.toBe('INTERNAL_SERVER_ERROR');
      expect(error.extensions?.['originalError']).toBeUndefined();
      expect(error.extensions?.['http']).toBeUndefined();
      expect(error.message.length).toBeLessThanOrEqual(300);
    }
    if (mutationError) expect(mutationError.code).toBe('VALIDATION_FAILED');
    expect(JSON.stringify(answer).length).toBeLessThan(20_000);
    expect(await rowCounts(app.db)).toEqual(before);
  });
});
