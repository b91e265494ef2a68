import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/** `npm start` brings up the server with embedded defaults and nothing else to install or start. */
test('npm start serves /v2/ and /healthz on PORT with data under AIBOMGEN_DATA_DIR', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-start-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn('npm', ['start', '--silent'], {
    env: { ...process.env, PORT: String(port), HOST: '127.0.0.1', AIBOMGEN_DATA_DIR: dataDir },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  try {
    const deadline = Date.now() + 30_000;
    let res: Response | undefined;
    while (Date.now() < deadline) {
      try {
        res = await fetch(`http://127.0.0.1:${port}/v2/`);
        break;
      } catch {
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    assert.ok(res, `server did not answer within 30 s:\n${out}`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.ok(existsSync(join(dataDir, 'aibomgen.db')), 'SQLite database created under the data dir');
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
