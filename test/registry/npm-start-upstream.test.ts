import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDistribution } from '../helpers/distribution.ts';
import { freePort } from '../helpers/net.ts';

const sha256 = (b: string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

test('npm start with AIBOMGEN_REGISTRY_STORE=upstream serves /v2/ from the distribution registry', async () => {
  const up = await startDistribution();
  const dataDir = await mkdtemp(join(tmpdir(), 'aibomgen-npm-start-'));
  const port = await freePort();
  // Its own process group, so the whole npm → tsx → node chain is stopped together.
  const child = spawn('npm', ['start'], {
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      AIBOMGEN_DATA_DIR: dataDir,
      AIBOMGEN_REGISTRY_STORE: 'upstream',
      AIBOMGEN_UPSTREAM_URL: up.url,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const url = `http://127.0.0.1:${port}`;
  try {
    let ready = false;
    for (let i = 0; i < 300 && !ready && child.exitCode === null; i++) {
      ready = await fetch(`${url}/readyz`).then(
        async (r) => (await r.arrayBuffer(), r.status === 200),
        () => false,
      );
      if (!ready) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(ready, `server did not become ready: ${stderr}`);
    // Auth is on: the administrator token the first start left in the keys directory.
    const token = (await readFile(join(dataDir, 'keys', 'admin.token'), 'utf8')).trim();
    let res = await fetch(`${url}/v2/start/check/blobs/uploads/?digest=${sha256('via npm start')}`, {
      method: 'POST',
      body: 'via npm start',
      headers: { 'content-type': 'application/octet-stream', authorization: `Bearer ${token}` },
    });
    assert.equal(res.status, 201);
    // The bytes are in the distribution registry itself, not in the server's data directory.
    res = await fetch(`${up.url}/v2/start/check/blobs/${sha256('via npm start')}`);
    assert.equal(await res.text(), 'via npm start');
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((r) => child.once('exit', r));
      process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
    await up.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
});
