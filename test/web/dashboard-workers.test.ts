/**
 * The dashboard's workers page in Chromium (playwright-core), over GraphQL `workers` and `queue`: an
 * administrator sees the Workers link, each worker with its state and heartbeat, and the queue's depth; a
 * non-admin sees neither the link nor any worker (GraphQL answers FORBIDDEN).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
let srv: TestServer;
let browser: Browser;

before(async () => {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  // Role `all`: this node runs jobs too, so it is a worker (embedded queue engine, SQLite).
  srv = await startTestServer({
    tokens: 'alice:alice-token,bob:bob-token',
    admins: 'alice',
    workerId: 'web-w1',
    runner: 'process',
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

async function signedIn(token: string): Promise<{ page: Page; problems: string[] }> {
  const ctx = await browser.newContext();
  await ctx.addInitScript((t) => localStorage.setItem('aibomgen.token', t), token);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${srv.url}/#/workers`);
  return { page, problems };
}

test('an administrator sees the Workers link, this node as an idle worker, and the queue', async () => {
  const { page, problems } = await signedIn('alice-token');
  await page.locator('table.workers tbody tr[data-worker="web-w1"]').waitFor();
  assert.equal(await page.locator('nav a[href="#/workers"]').textContent(), 'Workers');
  const row = await page.locator('table.workers tbody tr').innerText();
  assert.match(row, /^web-w1\tidle\t/, row);
  assert.match(await page.locator('main p.muted').innerText(), /^Queue \(embedded\): 0 waiting; 0 running\.$/);
  assert.deepEqual(problems, []);
});

test('a non-admin sees no Workers link and no worker: GraphQL says FORBIDDEN', async () => {
  const { page, problems } = await signedIn('bob-token');
  await page.getByText('The workers page is for administrators only').waitFor();
  assert.equal(await page.locator('nav a[href="#/workers"]').count(), 0);
  assert.equal(await page.locator('table.workers').count(), 0);
  const res = await fetch(`${srv.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: 'Bearer bob-token' },
    body: JSON.stringify({ query: '{ workers { id } }' }),
  });
  const body = (await res.json()) as { errors?: { extensions?: { code?: string } }[] };
  assert.equal(body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
  assert.deepEqual(problems, []);
});
