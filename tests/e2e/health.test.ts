import { afterEach, describe, expect, it } from 'vitest';
import { buildHealthServer, type HealthServer } from '../../src/server/health-server.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

let server: HealthServer | undefined;
let app: TestApp | undefined;
afterEach(async () => {
  await server?.stop();
  await app?.stop();
  server = app = undefined;
});

describe('health endpoint', () => {
  it('answers 200 with the report while healthy, 503 when not, 404 elsewhere', async () => {
    let healthy = true;
    server = buildHealthServer(() => ({ healthy, role: 'worker' }));
    const url = await server.listen(0, '127.0.0.1');
    const ok = await fetch(url);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ healthy: true, role: 'worker' });
    healthy = false;
    expect((await fetch(url)).status).toBe(503);
    expect((await fetch(url.replace('/health', '/other'))).status).toBe(404);
    expect((await fetch(url, { method: 'POST' })).status).toBe(404);
  });

  it('is what a worker process serves in place of GraphQL', async () => {
    app = await startTestApp({ role: 'worker' });
    expect(app.url).toMatch(/\/health$/);
    const response = await fetch(app.url);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ healthy: true, role: 'worker', workerId: app.worker?.workerId });
  });
});
