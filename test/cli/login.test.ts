import { statSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { aibomgen, cliHome, deadUrl, json } from './run.ts';

// Two real servers with auth on (AIBOMGEN_TOKENS): the token must reach A and never B.
let a: TestServer;
let b: TestServer;
before(async () => {
  a = await startTestServer({ tokens: 'alice:s3cret-a', runner: 'process' });
  b = await startTestServer({ tokens: 'alice:s3cret-a', runner: 'process' });
});
after(async () => {
  await a.close();
  await b.close();
});

test('login stores server + token (0600, AIBOMGEN_CONFIG), later commands use them, the token goes to that server only', async () => {
  const { home, env } = cliHome();
  const cfg = join(home, 'cfg', 'aibomgen.json');
  const e = { ...env, AIBOMGEN_CONFIG: cfg };

  // Cancelling needs an owner: without a token the server refuses (1); with one, the job is simply unknown (3).
  const denied = await aibomgen(['--server', a.url, 'jobs', 'cancel', 'no-such-job'], { env: e });
  assert.equal(denied.status, 1);
  assert.match(denied.stderr, /^aibomgen: this server requires a token.*; run aibomgen login with a valid token\n$/);

  const login = await aibomgen(['login', a.url, '--token-stdin', '--json'], { env: e, input: 's3cret-a\n' });
  assert.equal(login.status, 0, login.stderr);
  assert.deepEqual(json(login), { server: a.url, config: cfg, token: true });
  assert.equal(statSync(cfg).mode & 0o777, 0o600);
  assert.deepEqual(JSON.parse(readFileSync(cfg, 'utf8')), { server: a.url, token: 's3cret-a' });

  // No --server: the stored server and token are used.
  const ok = await aibomgen(['jobs', 'ls', '--json'], { env: e });
  assert.equal(ok.status, 0, ok.stderr);
  assert.deepEqual(json(ok), { items: [] });
  const authed = await aibomgen(['jobs', 'cancel', 'no-such-job'], { env: e });
  assert.equal(authed.status, 3, authed.stderr);
  // Another server (same token list!) gets no token from this config: it answers 401.
  const other = await aibomgen(['--server', b.url, 'jobs', 'cancel', 'no-such-job'], { env: e });
  assert.equal(other.status, 1);
  assert.match(other.stderr, /requires a token/);
  // AIBOMGEN_TOKEN is an explicit choice and goes wherever --server points.
  const explicit = await aibomgen(['--server', b.url, 'jobs', 'cancel', 'no-such-job'], {
    env: { ...e, AIBOMGEN_TOKEN: 's3cret-a' },
  });
  assert.equal(explicit.status, 3, explicit.stderr);

  // A wrong token: 1 with the server's sentence.
  const bad = await aibomgen(['jobs', 'cancel', 'no-such-job'], { env: { ...e, AIBOMGEN_TOKEN: 'nope' } });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /token is not valid/);
});

test('login: an unreachable server stores nothing (1); bad flags are usage errors (2); a broken config is named', async () => {
  const { home, env } = cliHome();
  const cfg = join(home, 'c.json');
  const e = { ...env, AIBOMGEN_CONFIG: cfg };
  const down = await aibomgen(['login', await deadUrl()], { env: e });
  assert.equal(down.status, 1);
  assert.match(down.stderr, /cannot reach the platform .*ECONNREFUSED/);
  assert.throws(() => statSync(cfg));
  assert.equal((await aibomgen(['login', 'ftp://x'], { env: e })).status, 2);
  assert.equal((await aibomgen(['login', a.url, '--token', 'x', '--token-stdin'], { env: e })).status, 2);
  const plain = await aibomgen(['login', a.url], { env: e });
  assert.equal(plain.status, 0, plain.stderr);
  assert.match(plain.stdout, new RegExp(`^logged in to ${a.url.replace(/\./g, '\\.')} \\(saved in `));
  writeFileSync(cfg, '{"server": 42}');
  const broken = await aibomgen(['jobs', 'ls'], { env: e });
  assert.equal(broken.status, 1);
  assert.match(broken.stderr, /c\.json is not an aibomgen config .*run aibomgen login again/);
});
