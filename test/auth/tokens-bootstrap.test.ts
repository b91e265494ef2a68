/**
 * Auth on by default: the first start without any account makes one administrator token (hash stored, token
 * written 0600 to keys/admin.token, printed once), a restart makes none, AIBOMGEN_TOKENS means no bootstrap;
 * AIBOMGEN_AUTH=off is a loud development switch (/healthz and the start-up log say so).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { compose } from '../../server/compose.ts';
import { loadConfig } from '../../server/config.ts';
import { startTestServer } from '../helpers/server.ts';

/** A logger whose lines are kept, to read what the server said at start. */
function capture(): { log: pino.Logger; lines: () => { level: number; msg: string }[] } {
  const out: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      out.push(chunk.toString());
      done();
    },
  });
  return { log: pino({ level: 'info' }, sink), lines: () => out.map((l) => JSON.parse(l)) };
}

test('auth is on by default; the first start makes one admin token (0600 file, only its hash stored), a restart none', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-boot-'));
  try {
    const config = loadConfig({}, { dataDir, runner: 'process', port: 0 });
    assert.equal(config.auth, 'on');
    const { log, lines } = capture();
    const first = await compose(config, log);
    const file = join(config.keysDir, 'admin.token');
    let token: string;
    try {
      assert.ok(first.auth.enabled);
      token = readFileSync(file, 'utf8').trim();
      assert.match(token, /^abg_[A-Za-z0-9_-]{43}$/);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const rows = await first.db.selectFrom('auth_tokens').selectAll().execute();
      assert.equal(rows.length, 1);
      assert.equal(rows[0]!.owner, 'admin');
      assert.equal(rows[0]!.hash, createHash('sha256').update(token).digest('hex'));
      assert.ok(!JSON.stringify(rows).includes(token), 'the token itself is not stored');
      const said = lines().find((l) => /administrator API token/.test(l.msg));
      assert.ok(said, 'the start-up log says an admin token was made');
      assert.ok(!JSON.stringify(lines()).includes(token), 'the log line does not repeat the token');
    } finally {
      await first.close();
    }
    const again = await compose(config, pino({ level: 'silent' }));
    try {
      assert.equal((await again.db.selectFrom('auth_tokens').selectAll().execute()).length, 1, 'no second token');
      assert.equal(readFileSync(file, 'utf8').trim(), token, 'the file is left alone');
    } finally {
      await again.close();
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('with AIBOMGEN_TOKENS there is no bootstrap token; a job worker never makes one', async () => {
  for (const overrides of [{ tokens: 'alice:s3cret' }, { role: 'worker' as const }]) {
    const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-boot-'));
    const p = await compose(loadConfig({}, { dataDir, runner: 'process', ...overrides }), pino({ level: 'silent' }));
    try {
      assert.equal((await p.db.selectFrom('auth_tokens').selectAll().execute()).length, 0, JSON.stringify(overrides));
      assert.ok(!existsSync(join(p.config.keysDir, 'admin.token')));
    } finally {
      await p.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
});

test('the admin token works as a Bearer token; without one the API answers 401 naming what to send', async () => {
  const srv = await startTestServer({ auth: 'on', runner: 'process' });
  try {
    assert.deepEqual(await (await fetch(`${srv.url}/healthz`)).json(), { status: 'ok' });
    const anonymous = await fetch(`${srv.url}/developer/jobs`);
    assert.equal(anonymous.status, 401);
    assert.deepEqual(await anonymous.json(), {
      error: 'unauthorized',
      detail: 'this server requires a token: send Authorization: Bearer <token> (aibomgen login)',
    });
    const ok = await fetch(`${srv.url}/developer/jobs`, { headers: { authorization: `Bearer ${srv.adminToken}` } });
    assert.equal(ok.status, 200);
    const unknown = await fetch(`${srv.url}/developer/jobs`, { headers: { authorization: 'Bearer abg_nope' } });
    assert.equal(unknown.status, 401);
    assert.match(((await unknown.json()) as { detail: string }).detail, /token is not valid on this server/);
  } finally {
    await srv.close();
  }
});

test('AIBOMGEN_AUTH=off: a warning at start, on /healthz, and everyone is anonymous', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-off-'));
  const { log, lines } = capture();
  const p = await compose(loadConfig({ AIBOMGEN_AUTH: 'off' }, { dataDir, runner: 'process', port: 0 }), log);
  try {
    assert.equal(p.auth.enabled, false);
    assert.ok(
      lines().some((l) => l.level === 40 && /authentication is OFF/.test(l.msg)),
      'warned at start',
    );
    assert.ok(!existsSync(join(p.config.keysDir, 'admin.token')), 'no account is made');
  } finally {
    await p.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  const srv = await startTestServer({ auth: 'off' });
  try {
    const health = (await (await fetch(`${srv.url}/healthz`)).json()) as Record<string, string>;
    assert.equal(health.status, 'ok');
    assert.equal(health.auth, 'off');
    assert.match(health.warning ?? '', /authentication is off .*never expose it/);
    assert.equal((await fetch(`${srv.url}/developer/jobs`)).status, 200);
    const create = await fetch(`${srv.url}/developer/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'x' }),
    });
    assert.equal(create.status, 409);
    assert.match(((await create.json()) as { detail: string }).detail, /AIBOMGEN_AUTH=off/);
  } finally {
    await srv.close();
  }
});
