/**
 * Browser safety on a development install (auth off, where a forged request would otherwise work): a page on
 * another origin that auto-submits a form to submit or cancel a job is refused in Chromium, and a request naming
 * a foreign Host (DNS rebinding) is refused; API clients (no Origin) and the dashboard (same origin) still work.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
let srv: TestServer;
let evil: Server;
let evilUrl: string;
let browser: Browser;

before(async () => {
  srv = await startTestServer({ runner: 'process', auth: 'off' });
  // The attacker's page, on another origin (another port): forms that post to the platform when loaded.
  evil = createServer((req, res) => {
    const target = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><form id="f" method="POST" enctype="multipart/form-data" action="${srv.url}${target}">
      <input name="framework" value="tensorflow"></form><script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilUrl = `http://localhost:${(evil.address() as AddressInfo).port}`;
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
});
after(async () => {
  await browser?.close();
  await new Promise((r) => evil?.close(r));
  await srv?.close();
});

/** Loads the attacker's page and returns the platform's answer to the form post it makes. */
async function crossSiteFormPost(target: string): Promise<{ status: number; body: string }> {
  const page = await browser.newPage();
  try {
    const answer = page.waitForResponse((r) => r.url().startsWith(srv.url) && r.request().method() === 'POST');
    await page.goto(`${evilUrl}/?to=${encodeURIComponent(target)}`);
    const res = await answer;
    return { status: res.status(), body: await res.text() };
  } finally {
    await page.close();
  }
}

test('a cross-origin form POST to submit or cancel is refused (403) and creates or changes nothing', async () => {
  const submit = await crossSiteFormPost('/developer/submit_job_by_model_and_data');
  assert.equal(submit.status, 403, submit.body);
  assert.match(submit.body, /cross_origin_refused/);
  const jobs = (await (await fetch(`${srv.url}/developer/jobs`)).json()) as { items: unknown[] };
  assert.deepEqual(jobs.items, [], 'no job was created');
  const cancel = await crossSiteFormPost('/developer/jobs/00000000-0000-0000-0000-000000000000/cancel');
  assert.equal(cancel.status, 403, cancel.body);
  // An API client (no Origin, no Sec-Fetch-Site) reaches the route: here a validation error, not the guard.
  const api = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, {
    method: 'POST',
    body: new FormData(),
  });
  assert.equal(api.status, 400);
  // The dashboard's own requests are same-origin.
  const same = await fetch(`${srv.url}/developer/jobs/00000000-0000-0000-0000-000000000000/cancel`, {
    method: 'POST',
    headers: { origin: srv.url, 'sec-fetch-site': 'same-origin' },
  });
  assert.equal(same.status, 404);
});

test("a request with a foreign Host header is refused (421); the server's own names are served", async () => {
  const get = (host: string): Promise<number> =>
    new Promise((resolve, reject) => {
      const u = new URL(srv.url);
      request({ host: u.hostname, port: u.port, path: '/developer/jobs', headers: { host } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
  const port = new URL(srv.url).port;
  assert.equal(await get(`attacker.example:${port}`), 421);
  assert.equal(await get('attacker.example'), 421);
  assert.equal(await get(`127.0.0.1:${port}`), 200);
  assert.equal(await get(`localhost:${port}`), 200);
});
