import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../support/test-app.js';

describe("the server's log of errors", () => {
  let app: TestApp;
  const lines: { level: number; msg: string }[] = [];

  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as { level: number; msg: string });
        done();
      },
    });
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory', AUTH_MODE: 'required' }, logger: pino({ level: 'debug' }, sink) });
  });
  afterAll(() => app?.stop());

  it("keeps the caller's errors (here a missing credential) out of the error level", async () => {
    const ask = (query: string, headers: Record<string, string> = {}) =>
      fetch(app.url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ query }) }).then((r) => r.json());
    // No credential where one is required: the context refuses it, and yoga masks (and logs) what it throws.
    const refused = (await ask('{ __typename }')) as { errors: { extensions: { code: string } }[] };
    expect(refused.errors[0]?.extensions.code).toBe('UNAUTHENTICATED');
    const errors = lines.filter((line) => line.level >= 50);
    expect(errors).toEqual([]);
    expect(lines.some((line) => line.level === 20 && /A valid API key or token is required/.test(line.msg))).toBe(true);
  });
});
