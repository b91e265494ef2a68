/**
 * The dashboard's audit page in Chromium (playwright-core): an administrator sees the Audit link and the
 * entries (filtered by actor from the form); a non-admin sees neither the link nor any entry, only a notice
 * that the log is for administrators.
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
  srv = await startTestServer({ tokens: 'alice:alice-token,bob:bob-token', admins: 'alice', role: 'api' });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  // Two refusals to show: an anonymous submission and bob cancelling a job that is not there.
  assert.equal((await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, { method: 'POST' })).status, 401);
  const gone = await fetch(`${srv.url}/developer/jobs/00000000-0000-4000-8000-000000000000/cancel`, {
    method: 'POST',
    headers: { authorization: 'Bearer bob-token' },
  });
  assert.equal(gone.status, 404);
});
after(async () => {
  await browser?.close();
  await srv?.close();
});

/** A page signed in with `token` (stored as the dashboard's login does), recording page errors. */
async function signedIn(token: string): Promise<{ page: Page; problems: string[] }> {
  const ctx = await browser.newContext();
  await ctx.addInitScript((t) => localStorage.setItem('aibomgen.token', t), token);
  const page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(`${srv.url}/#/audit`);
  return { page, problems };
}

test('an administrator sees the Audit link and the entries, and can filter them', async () => {
  const { page, problems } = await signedIn('alice-token');
  await page.locator('table.audit tbody tr').first().waitFor();
  assert.equal(await page.locator('nav a[href="#/audit"]').textContent(), 'Audit');
  const rows = await page.locator('table.audit tbody tr').allInnerTexts();
  assert.equal(rows.length, 2, rows.join('\n'));
  assert.match(rows.join('\n'), /anonymous\s+POST \/developer\/submit_job_by_model_and_data\s+401\s+refused/);
  assert.match(rows.join('\n'), /bob\s+POST \/developer\/jobs\/<id>\/cancel/);
  await page.fill('#audit-actor', 'bob');
  await page.click('form[role="search"] button');
  await page.waitForFunction(() => document.querySelectorAll('table.audit tbody tr').length === 1);
  assert.match(await page.locator('table.audit tbody tr').innerText(), /^[^\n]*\tbob\t/);
  assert.deepEqual(problems, []);
});

test('a non-admin gets no link and no entries, only a notice', async () => {
  const { page, problems } = await signedIn('bob-token');
  await page.locator('.notice').waitFor();
  assert.match(await page.locator('.notice').innerText(), /administrators only/);
  await page.waitForLoadState('networkidle'); // the sign-in state (/auth/config) has been asked
  assert.equal(await page.locator('table.audit').count(), 0);
  assert.equal(await page.locator('nav a[href="#/audit"]').count(), 0);
  assert.deepEqual(problems, []);
});
