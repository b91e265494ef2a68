/**
 * `aibomgen tokens create|ls|revoke` against a real server with auth on, and the CLI's use of the first start's
 * administrator token for the local server (no login config, a loopback URL on PORT, keys under the data dir).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { aibomgen, cliHome, json } from '../cli/run.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
before(async () => {
  srv = await startTestServer({ auth: 'on', runner: 'process' });
});
after(async () => {
  await srv?.close();
});

test('tokens create prints the token alone (once), ls lists it, revoke stops it; bad flags are usage errors', async () => {
  const { env } = cliHome();
  const e = { ...env, AIBOMGEN_TOKEN: srv.adminToken! };
  const run = (...args: string[]) => aibomgen(['--server', srv.url, 'tokens', ...args], { env: e });

  const created = await run('create', 'ci', '--scopes', 'registry:pull,registry:push', '--expires-in-days', '30');
  assert.equal(created.status, 0, created.stderr);
  const token = created.stdout.trim();
  assert.match(token, /^abg_[A-Za-z0-9_-]{43}$/, 'stdout is the token alone');
  assert.match(created.stderr, /"ci" for admin \(registry:pull, registry:push, expires .*\); shown once/);

  const ls = await run('ls', '--json');
  assert.equal(ls.status, 0, ls.stderr);
  const items = json<{ items: { id: string; name: string; scopes?: string[] }[] }>(ls).items;
  const ci = items.find((t) => t.name === 'ci');
  assert.deepEqual(ci?.scopes, ['registry:pull', 'registry:push']);
  assert.ok(!ls.stdout.includes(token));
  const table = await run('ls');
  assert.match(table.stdout, /^ID\s+NAME\s+OWNER\s+SCOPES\s+STATE\s+LAST USED$/m);
  assert.match(table.stdout, new RegExp(`^${ci!.id}\\s+ci\\s+admin\\s+registry:pull,registry:push\\s+until `, 'm'));

  // The new token works on its own (registry scopes only: it sees no jobs), until it is revoked.
  const jobs = await aibomgen(['--server', srv.url, 'jobs', 'ls'], { env: { ...env, AIBOMGEN_TOKEN: token } });
  assert.equal(jobs.status, 0, 'its owner sees an empty list, not an error');
  const revoked = await run('revoke', ci!.id);
  assert.equal(revoked.status, 0, revoked.stderr);
  assert.equal(revoked.stdout, `revoked ${ci!.id} "ci" of admin\n`);
  const refused = await aibomgen(['--server', srv.url, 'jobs', 'ls'], { env: { ...env, AIBOMGEN_TOKEN: token } });
  assert.equal(refused.status, 1);
  assert.match(refused.stderr, /token "ci" was revoked at .*; run aibomgen login with a valid token/);
  assert.equal((await run('revoke', '0000000000000000')).status, 3, 'unknown id: not found');

  for (const args of [
    ['create', 'x', '--scopes', 'registry:steal'],
    ['create', 'x', '--expires-in-days', '0'],
    ['create'],
    ['revoke', 'not/an/id'],
  ]) {
    const r = await run(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
  }
});

test('the local server gets ./data/keys/admin.token without any login; another port, or a login config, does not', async () => {
  const { env, home } = cliHome();
  const port = new URL(srv.url).port;
  const local = { ...env, PORT: port, AIBOMGEN_DATA_DIR: srv.dataDir };
  const ok = await aibomgen(['--server', srv.url, 'tokens', 'ls', '--json'], { env: local });
  assert.equal(ok.status, 0, ok.stderr);
  assert.ok(json<{ items: unknown[] }>(ok).items.length >= 1);
  // Same URL but PORT names another local server: its token is not this one's to send.
  const elsewhere = await aibomgen(['--server', srv.url, 'tokens', 'ls'], { env: { ...local, PORT: '1' } });
  assert.equal(elsewhere.status, 1);
  assert.match(elsewhere.stderr, /requires a token/);
  // Someone logged in (to another server): the stored login decides, no fallback.
  const cfg = join(home, 'cfg.json');
  writeFileSync(cfg, JSON.stringify({ server: 'http://127.0.0.1:9', token: 'abg_other' }));
  const loggedIn = await aibomgen(['--server', srv.url, 'tokens', 'ls'], { env: { ...local, AIBOMGEN_CONFIG: cfg } });
  assert.equal(loggedIn.status, 1);
  assert.match(loggedIn.stderr, /requires a token/);
});
