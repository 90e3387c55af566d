import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { submitOrThrow } from '../support/job-operations.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
// CI installs Chromium (.ci/run) and fails without it; a machine without one says so and skips.
const available = existsSync(CHROMIUM);
if (!available && process.env['CI']) throw new Error(`browser tests need Chromium at ${CHROMIUM} (CHROMIUM_PATH)`);
if (!available) console.warn(`[browser] no Chromium at ${CHROMIUM}: the GraphiQL page test is skipped (apt-get install chromium)`);

describe.skipIf(!available)('GraphiQL in a browser whose network reaches only the server', () => {
  let app: TestApp;
  let browser: Browser;
  const elsewhere: string[] = [];
  const problems: string[] = [];

  beforeAll(async () => {
    app = await startTestApp({ env: { QUEUE_ADAPTER: 'memory' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
  });

  /** A page on which any request to another origin is recorded and refused. */
  async function openPage(query: string): Promise<Page> {
    const origin = new URL(app.url).origin;
    const page = await browser.newPage();
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith(`blob:${origin}`)) return route.continue();
      elsewhere.push(url);
      return route.abort();
    });
    page.on('websocket', (socket) => {
      if (new URL(socket.url()).host !== new URL(origin).host) elsewhere.push(socket.url());
    });
    page.on('pageerror', (error) => problems.push(error.message));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    await page.goto(`${app.url}?query=${encodeURIComponent(query)}`);
    await page.waitForSelector('.graphiql-container', { timeout: 20_000 });
    return page;
  }

  const resultOf = async (page: Page, expected: string): Promise<string> => {
    await page.click('.graphiql-execute-button');
    await page.locator('.result-window').getByText(expected).first().waitFor({ timeout: 10_000 });
    // The editor lays text out with non-breaking spaces.
    return (await page.locator('.result-window').innerText()).replace(/\s+/g, ' ');
  };

  it('loads, runs a query over HTTP, and asks nothing of another host', async () => {
    const page = await openPage('{ __typename }');
    expect(await resultOf(page, '"Query"')).toContain('"data": { "__typename": "Query" }');
    await page.close();
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('runs a subscription over graphql-ws on the same host', async () => {
    const job = await submitOrThrow(app.url, { name: 'watched', tasks: [{ type: 'demo.echo', payload: 1, delayMs: 3_600_000 }] });
    const page = await openPage(`subscription { jobProgress(jobId: "${job.id}") { seq } }`);
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));
    expect(await resultOf(page, '"seq"')).toMatch(/"data": \{ "jobProgress": \{ "seq": \d+ \} \}/);
    expect(sockets.map((url) => new URL(url).host)).toContain(new URL(app.url).host);
    await page.close();
    expect(elsewhere).toEqual([]);
    expect(problems).toEqual([]);
  });
});
