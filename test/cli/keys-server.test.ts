import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer } from '../helpers/server.ts';
import { aibomgen, cliHome, deadUrl, json } from './run.ts';

test('keys init creates the keys once (--json lists them), then reports them present; bad days is a usage error', async () => {
  const { env } = cliHome();
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-keys-'));
  const first = await aibomgen(['keys', 'init', '--data-dir', dir, '--json'], { env });
  assert.equal(first.status, 0, first.stderr);
  const r = json<{ dir: string; created: string[] }>(first);
  assert.equal(r.dir, join(dir, 'keys'));
  for (const f of ['platform.key', 'platform.pub', 'root.pub', 'root.layout']) {
    assert.ok(r.created.includes(f), `${f} created (got ${r.created.join(', ')})`);
    assert.ok(existsSync(join(r.dir, f)), f);
  }
  const again = await aibomgen(['keys', 'init', '--data-dir', dir], { env });
  assert.equal(again.status, 0);
  assert.equal(again.stdout, `keys already present in ${join(dir, 'keys')}\n`);
  assert.deepEqual(
    json<{ created: string[] }>(await aibomgen(['keys', 'init', '--data-dir', dir, '--json'], { env })).created,
    [],
  );
  const bad = await aibomgen(['keys', 'init', '--data-dir', dir, '--layout-expires-days', '0'], { env });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^aibomgen: --layout-expires-days must be a positive integer, got 0\n$/);
});

test('keys live outside the data directory with --keys-dir / AIBOMGEN_KEYS_DIR (a mounted secret): made and used there', async () => {
  const { env } = cliHome();
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-data-'));
  const secret = join(mkdtempSync(join(tmpdir(), 'aibomgen-secret-')), 'keys');
  const made = json<{ dir: string; created: string[] }>(
    await aibomgen(['keys', 'init', '--data-dir', dataDir, '--keys-dir', secret, '--json'], { env }),
  );
  assert.equal(made.dir, secret);
  assert.ok(made.created.includes('platform.key'));
  assert.ok(!existsSync(join(dataDir, 'keys')), 'nothing written under the data directory');
  // The server started with AIBOMGEN_KEYS_DIR uses those keys and makes none of its own.
  const srv = await startTestServer({ dataDir, keysDir: secret });
  try {
    const served = await (await fetch(`${srv.url}/web/keys/platform.pub`)).text();
    assert.equal(served, readFileSync(join(secret, 'platform.pub'), 'utf8'));
    assert.ok(!existsSync(join(dataDir, 'keys')), 'the server made no keys under the data directory');
  } finally {
    await srv.close();
  }
});

test('aibomgen server starts the platform (client commands reach it) and stops cleanly on SIGTERM', async () => {
  const { env } = cliHome();
  const dir = mkdtempSync(join(tmpdir(), 'aibomgen-serve-'));
  const url = await deadUrl(); // a free port
  const port = new URL(url).port;
  const child = spawn(process.execPath, ['cli/bin.js', 'server', '--port', port, '--data-dir', dir], {
    env: { ...env, AIBOMGEN_RUNNER: 'process', LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    let up = false;
    for (let i = 0; i < 300 && !up; i++) {
      up = await fetch(`${url}/healthz`).then(
        (res) => res.ok,
        () => false,
      );
      if (!up) await new Promise((r) => setTimeout(r, 200));
    }
    assert.ok(up, `server did not come up: ${stderr}`);
    assert.ok(existsSync(join(dir, 'keys', 'platform.pub')), 'keys made on first start in --data-dir');
    // Auth is on: the first start's administrator token, which the CLI finds for the local server on PORT.
    const local = { ...env, PORT: port, AIBOMGEN_DATA_DIR: dir };
    const refused = await aibomgen(['--server', url, 'jobs', 'ls', '--json'], { env });
    assert.equal(refused.status, 1, 'no token, no jobs');
    const ls = await aibomgen(['--server', url, 'jobs', 'ls', '--json'], { env: local });
    assert.equal(ls.status, 0, ls.stderr);
    assert.deepEqual(json(ls), { items: [] });
    const missing = await aibomgen(['--server', url, 'verify', 'models/none:1.0.0'], { env: local });
    assert.equal(missing.status, 3, missing.stderr);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
});
