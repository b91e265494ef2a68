/**
 * The dashboard's OIDC sign-in in Chromium against a real issuer on loopback: authorization code + PKCE S256,
 * a server-side session in an HttpOnly SameSite cookie (no token in localStorage), the user's own jobs listed,
 * and the cookie refused on state-changing requests that do not come from the dashboard's own origin.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { tabularForm } from '../helpers/jobs.ts';
import { type OidcIssuer, startOidcIssuer } from '../helpers/oidc-issuer.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

const CHROMIUM = '/usr/bin/chromium';
let issuer: OidcIssuer;
let srv: TestServer;
let browser: Browser;
let work: string;
/** Another origin on the same host (another port): the same *site*, so SameSite=Lax does not keep the cookie off. */
let evil: Server;
let evilUrl: string;
const jobs: Record<'alice' | 'bob', string> = { alice: '', bob: '' };

before(async () => {
  issuer = await startOidcIssuer({ audience: 'aibomgen', clientId: 'aibomgen-dashboard' });
  srv = await startTestServer({
    runner: 'process',
    auth: 'on',
    oidcIssuer: issuer.url,
    oidcAudience: 'aibomgen',
    oidcClientId: issuer.clientId,
    oidcClientSecret: issuer.clientSecret,
  });
  issuer.redirectUris.push(`${srv.url}/auth/callback`);
  work = await mkdtemp(join(tmpdir(), 'aibomgen-oidc-web-'));
  // One job each for alice and bob, submitted with their bearer tokens and cancelled at once (no training needed).
  for (const who of ['alice', 'bob'] as const) {
    const auth = { authorization: `Bearer ${await issuer.token({ sub: `${who}-sub`, preferred_username: who })}` };
    const res = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, {
      method: 'POST',
      headers: auth,
      body: await tabularForm(work, { samples: 40, epochs: 1, name: `oidc-${who}` }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    jobs[who] = ((await res.json()) as { job_id: string }).job_id;
    const cancel = await fetch(`${srv.url}/developer/jobs/${jobs[who]}/cancel`, { method: 'POST', headers: auth });
    assert.equal(cancel.status, 200, await cancel.text());
  }
  evil = createServer((req, res) => {
    const target = new URL(req.url ?? '/', 'http://x').searchParams.get('to') ?? '';
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><form id="f" method="POST" action="${srv.url}${target}"></form>
      <script>document.getElementById('f').submit()</script>`);
  });
  await new Promise<void>((r) => evil.listen(0, '127.0.0.1', r));
  evilUrl = `http://127.0.0.1:${(evil.address() as AddressInfo).port}`;
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: scripts/setup.sh installs Debian's chromium`);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
});
after(async () => {
  await browser?.close();
  await new Promise((r) => evil?.close(r));
  await srv?.close();
  await issuer?.close();
  await rm(work, { recursive: true, force: true });
});

let ctx: BrowserContext;
let page: Page;

test('the dashboard signs in with the code flow and PKCE, and lists the signed-in user’s jobs', async () => {
  ctx = await browser.newContext();
  page = await ctx.newPage();
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`pageerror: ${e.message}`));
  await page.goto(`${srv.url}/#/jobs`);
  // No session: the jobs list answers 401 and the dashboard shows its sign-in page, with the issuer's button.
  const button = page.getByRole('link', { name: `Sign in with ${new URL(issuer.url).host}` });
  await button.waitFor();
  await button.click();
  await page.waitForURL(`${srv.url}/#/jobs`);
  await page.getByRole('link', { name: `Job ${jobs.alice}` }).waitFor();
  assert.equal(await page.getByRole('link', { name: `Job ${jobs.bob}` }).count(), 0, 'bob’s job is not alice’s to see');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();

  const auth = issuer.authorizeRequests.at(-1);
  assert.ok(auth, 'the browser went to the issuer');
  assert.equal(auth.get('code_challenge_method'), 'S256');
  assert.match(auth.get('code_challenge') ?? '', /^[A-Za-z0-9_-]{43}$/);
  assert.ok(auth.get('state') && auth.get('nonce'), 'state and nonce sent');
  assert.equal(auth.get('redirect_uri'), `${srv.url}/auth/callback`);
  assert.deepEqual(issuer.tokenErrors, [], 'the code exchange passed the issuer’s PKCE check');

  const cookies = await ctx.cookies(srv.url);
  const session = cookies.find((c) => c.name === 'aibomgen_session');
  assert.ok(session, `session cookie set: ${cookies.map((c) => c.name).join(', ')}`);
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.equal(session.secure, false, 'plain http here: Secure (and __Host-) only over https');
  assert.match(session.value, /^[A-Za-z0-9_-]{43}$/, 'the cookie holds only a random id');
  assert.equal(
    cookies.find((c) => c.name === 'aibomgen_login'),
    undefined,
    'the sign-in state cookie is gone',
  );
  assert.equal(await page.evaluate(() => document.cookie), '', 'no script can read the session');
  assert.equal(await page.evaluate(() => localStorage.length), 0, 'nothing kept in localStorage');
  assert.deepEqual(problems, []);
});

test('a cross-origin POST carrying the session cookie is refused, and the session survives it', async () => {
  const evilPage = await ctx.newPage();
  const forged = evilPage.waitForRequest((r) => r.url() === `${srv.url}/auth/logout` && r.method() === 'POST');
  const answer = evilPage.waitForResponse(`${srv.url}/auth/logout`);
  await evilPage.goto(`${evilUrl}/?to=/auth/logout`);
  const sent = await (await forged).allHeaders();
  assert.match(sent.cookie ?? '', /aibomgen_session=/, 'the browser did send the cookie (same site, other origin)');
  assert.equal((await answer).status(), 403);
  await evilPage.close();
  // Still signed in: the forged logout ended nothing.
  await page.reload();
  await page.getByRole('link', { name: `Job ${jobs.alice}` }).waitFor();
});

test('the session cookie needs this origin on state-changing requests; signing out ends the session', async () => {
  const session = (await ctx.cookies(srv.url)).find((c) => c.name === 'aibomgen_session')!;
  const cookie = `aibomgen_session=${session.value}`;
  const cancel = `${srv.url}/developer/jobs/${jobs.alice}/cancel`;
  // A client that is not a browser may send the cookie without Origin: refused all the same.
  const bare = await fetch(cancel, { method: 'POST', headers: { cookie } });
  assert.equal(bare.status, 403);
  assert.match(((await bare.json()) as { detail: string }).detail, /session cookie .*carries no Origin/);
  const sameSite = await fetch(cancel, { method: 'POST', headers: { cookie, 'sec-fetch-site': 'same-site' } });
  assert.equal(sameSite.status, 403);
  // From this origin it passes (a cancelled job stays cancelled: 200 with its state).
  const own = await fetch(cancel, { method: 'POST', headers: { cookie, origin: srv.url } });
  assert.equal(own.status, 200, await own.text());
  // Reads need no Origin.
  assert.equal((await fetch(`${srv.url}/developer/jobs`, { headers: { cookie } })).status, 200);

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
  assert.equal(
    (await ctx.cookies(srv.url)).find((c) => c.name === 'aibomgen_session'),
    undefined,
    'cookie cleared',
  );
  // The old cookie no longer works anywhere: the session row is gone.
  const after = await fetch(`${srv.url}/developer/jobs`, { headers: { cookie } });
  assert.equal(after.status, 401);
  assert.match(((await after.json()) as { detail: string }).detail, /session has ended/);
  await ctx.close();
});

test('a callback is taken only once, and only in the browser that started the sign-in (login CSRF)', async () => {
  const login = await fetch(`${srv.url}/auth/login?next=${encodeURIComponent('#/models')}`, { redirect: 'manual' });
  assert.equal(login.status, 302);
  const bound = /aibomgen_login=([^;]+)/.exec(login.headers.get('set-cookie') ?? '')?.[1];
  assert.ok(bound, 'the state is bound to this client by a cookie');
  const consent = await fetch(login.headers.get('location')!, { redirect: 'manual' });
  const callback = consent.headers.get('location')!;
  assert.match(callback, new RegExp(`^${srv.url}/auth/callback\\?code=`));
  await consent.body?.cancel();

  // The attacker's own callback URL opened in a victim's browser: no state cookie there.
  const elsewhere = await fetch(callback, { redirect: 'manual' });
  assert.equal(elsewhere.status, 400);
  assert.match(((await elsewhere.json()) as { detail: string }).detail, /not started in this browser/);
  const mine = await fetch(callback, { redirect: 'manual', headers: { cookie: `aibomgen_login=${bound}` } });
  assert.equal(mine.status, 302, await mine.text());
  assert.equal(mine.headers.get('location'), '/#/models');
  assert.match(mine.headers.get('set-cookie') ?? '', /aibomgen_session=[A-Za-z0-9_-]{43};.*HttpOnly/i);
  const replay = await fetch(callback, { redirect: 'manual', headers: { cookie: `aibomgen_login=${bound}` } });
  assert.equal(replay.status, 400);
  assert.match(((await replay.json()) as { detail: string }).detail, /expired or was already used/);
});
