import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

/**
 * `npm start` brings up the server with embedded defaults and nothing else to install or start — auth on, with the
 * administrator token its first start made (printed once, kept 0600 in the keys directory).
 */
test('npm start serves /v2/ and /healthz on PORT with data under AIBOMGEN_DATA_DIR', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'aibomgen-start-'));
  const port = 20000 + Math.floor(Math.random() * 20000);
  const env: NodeJS.ProcessEnv = { ...process.env, PORT: String(port), HOST: '127.0.0.1', AIBOMGEN_DATA_DIR: dataDir };
  for (const k of ['AIBOMGEN_AUTH', 'AIBOMGEN_TOKENS', 'AIBOMGEN_KEYS_DIR']) delete env[k];
  const child = spawn('npm', ['start', '--silent'], {
    env,
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
    // Anonymous: the version check answers the token flow's challenge (registry clients learn the realm here).
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/token"/);
    const tokenFile = join(dataDir, 'keys', 'admin.token');
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600);
    const token = readFileSync(tokenFile, 'utf8').trim();
    assert.ok(out.includes(token), `the first start printed its admin token:\n${out}`);
    const auth = { authorization: `Bearer ${token}` };
    assert.equal((await fetch(`http://127.0.0.1:${port}/v2/`, { headers: auth })).status, 200);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.deepEqual(await health.json(), { status: 'ok' });
    assert.ok(existsSync(join(dataDir, 'aibomgen.db')), 'SQLite database created under the data dir');
    // npm start runs the bundle its prestart built: files found next to the sources must still be found.
    const base = `http://127.0.0.1:${port}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    const css = /href="(\/web\/[^"]+\.css)"/.exec(await page.text())?.[1];
    assert.ok(css, 'the dashboard page links its stylesheet');
    assert.equal((await fetch(`${base}${css}`)).status, 200, 'dashboard static files (server/web/static)');
    const body = JSON.stringify({ query: '{ __type(name: "ModelVersion") { name } }' });
    const anonymous = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    assert.equal(anonymous.status, 401, 'auth is on by default');
    const gql = await fetch(`${base}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...auth },
      body: JSON.stringify({ query: '{ __type(name: "ModelVersion") { name } }' }),
    });
    assert.deepEqual(
      await gql.json(),
      { data: { __type: { name: 'ModelVersion' } } },
      'the GraphQL SDL (schema/graphql) was loaded',
    );
    const docs = await (await fetch(`${base}/docs`)).text();
    const swaggerCss = /href="([^"]+swagger-ui\.css)"/.exec(docs)?.[1];
    assert.ok(swaggerCss);
    assert.equal(
      (await fetch(`${base}${swaggerCss}`)).status,
      200,
      'Swagger UI assets (swagger-ui-dist, resolved from the bundle)',
    );
  } finally {
    process.kill(-child.pid!, 'SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  }
});
