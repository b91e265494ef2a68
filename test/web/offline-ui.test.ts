/**
 * GraphiQL (/graphql) and Swagger UI (/docs) in a real browser with every request to another origin refused:
 * both pages must come up from the server alone (an install without internet access, like this machine).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
let browser: Browser;
let srv: TestServer;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  srv = await startTestServer();
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

/** A page that may reach only the server; returns the outside URLs it tried and its script errors. */
async function offlinePage(): Promise<{ page: Page; outside: string[]; errors: string[] }> {
  const page = await browser.newPage();
  const outside: string[] = [];
  const errors: string[] = [];
  const origin = new URL(srv.url).origin;
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(origin) || url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
    outside.push(url);
    return route.abort();
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, outside, errors };
}

test('Swagger UI at /docs renders the OpenAPI document with no outside request', async () => {
  const { page, outside, errors } = await offlinePage();
  await page.goto(`${srv.url}/docs`);
  await page.waitForSelector('.swagger-ui .info .title', { timeout: 20_000 });
  assert.match(await page.locator('.swagger-ui .info .title').innerText(), /AIBoMGen/i);
  await page.waitForSelector('.opblock-summary-path[data-path="/developer/submit_job_by_model_and_data"]');
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await page.close();
});

test('GraphiQL at /graphql loads and runs a query with no outside request', async () => {
  const { page, outside, errors } = await offlinePage();
  await page.goto(`${srv.url}/graphql`);
  await page.waitForSelector('.graphiql-container', { timeout: 30_000 });
  // The schema is fetched by the page itself (introspection through /graphql).
  const schema = await page.evaluate(async () => {
    const r = await fetch('/graphql', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ query: '{ __schema { queryType { name } } }' }),
    });
    return (await r.json()) as { data?: { __schema: { queryType: { name: string } } } };
  });
  assert.equal(schema.data?.__schema.queryType.name, 'Query');
  assert.deepEqual(outside, []);
  assert.deepEqual(errors, []);
  await page.close();
});
