/**
 * The registry's token flow (Docker token spec) with managed API tokens: anonymous refusals carry the Bearer
 * challenge, `/token` issues a short-lived JWT granting requested ∩ allowed (the namespace rules of the access
 * check), and /v2/ honours exactly those grants. Driven with the real oras (login, push, pull), skopeo (inspect,
 * copy with --creds) and cosign (login, sign) against a server whose first start made the administrator token.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt, SignJWT } from 'jose';
import { REGISTRY_TOKEN_KEY_FILE } from '../../server/auth/registry-tokens.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let dir: string;
let alice: string;
let alicePullOnly: string;
const payload = 'weights pushed through the token flow\n';
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** Runs a real CLI with a private docker config (`config`) and HOME, asynchronously (the server is in this process). */
function cli(cmd: string, args: string[], config: string, input?: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { cwd: dir, env: { ...process.env, DOCKER_CONFIG: config, HOME: dir, COSIGN_PASSWORD: '' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
    child.stdin?.end(input ?? '');
  });
}

async function createToken(body: Record<string, unknown>): Promise<string> {
  const res = await fetch(`${srv.url}/developer/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${srv.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(res.status, 201);
  return ((await res.json()) as { token: string }).token;
}

async function registryToken(scopes: string[], authorization?: string): Promise<Response> {
  const q = new URLSearchParams({ service: 'aibomgen' });
  for (const s of scopes) q.append('scope', s);
  return fetch(`${srv.url}/token?${q}`, { headers: authorization ? { authorization } : {} });
}

const grantsOf = async (res: Response) => {
  assert.equal(res.status, 200);
  const body = (await res.json()) as { token: string; access_token: string; expires_in: number; issued_at: string };
  assert.equal(body.access_token, body.token);
  assert.ok(body.expires_in > 0 && body.expires_in <= 300 && !Number.isNaN(Date.parse(body.issued_at)));
  return { token: body.token, access: (decodeJwt(body.token) as { access: unknown }).access };
};

before(async () => {
  srv = await startTestServer({ auth: 'on' });
  assert.match(srv.adminToken ?? '', /^abg_[A-Za-z0-9_-]{43}$/);
  dir = await mkdtemp(join(tmpdir(), 'aibomgen-tokenflow-'));
  await writeFile(join(dir, 'model.bin'), payload);
  alice = await createToken({ name: 'ci', owner: 'alice' });
  alicePullOnly = await createToken({ name: 'read', owner: 'alice', scopes: ['registry:pull'] });
});
after(async () => {
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

test('anonymous push: 401 with the Bearer challenge (realm, service, scope); the version check challenges too', async () => {
  const digest = `sha256:${createHash('sha256').update(payload).digest('hex')}`;
  const res = await fetch(`${srv.url}/v2/alice/m/blobs/uploads/?digest=${digest}`, { method: 'POST', body: payload });
  assert.equal(res.status, 401);
  assert.equal(
    res.headers.get('www-authenticate'),
    `Bearer realm="${srv.url}/token",service="aibomgen",scope="repository:alice/m:pull,push"`,
  );
  assert.equal((await fetch(`${srv.url}/v2/alice/m/blobs/${digest}`, { method: 'HEAD' })).status, 404);
  const base = await fetch(`${srv.url}/v2/`);
  assert.equal(base.status, 401, 'docker, skopeo and cosign learn the realm here');
  assert.equal(base.headers.get('www-authenticate'), `Bearer realm="${srv.url}/token",service="aibomgen"`);
  assert.equal((await fetch(`${srv.url}/v2/`, { headers: { authorization: `Bearer ${alice}` } })).status, 200);
});

test('/token grants requested ∩ allowed: own namespace, read elsewhere, nothing for anonymous writes', async () => {
  const own = await grantsOf(await registryToken(['repository:alice/m:pull,push'], basic('alice', alice)));
  assert.deepEqual(own.access, [{ type: 'repository', name: 'alice/m', actions: ['pull', 'push'] }]);
  const other = await grantsOf(
    await registryToken(['repository:bob/x:pull,push,delete repository:models/m:*'], basic('alice', alice)),
  );
  assert.deepEqual(other.access, [
    { type: 'repository', name: 'bob/x', actions: ['pull'] },
    { type: 'repository', name: 'models/m', actions: ['pull'] },
  ]);
  const limited = await grantsOf(await registryToken(['repository:alice/m:pull,push'], basic('alice', alicePullOnly)));
  assert.deepEqual(limited.access, [{ type: 'repository', name: 'alice/m', actions: ['pull'] }], 'token scopes hold');
  const anonymous = await grantsOf(await registryToken(['repository:alice/m:pull,push']));
  assert.deepEqual(anonymous.access, [{ type: 'repository', name: 'alice/m', actions: ['pull'] }]);
  // The grant is what /v2/ honours: a pull grant does not push, and a registry token is no API token.
  const push = await fetch(`${srv.url}/v2/alice/m/blobs/uploads/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${limited.token}` },
  });
  assert.equal(push.status, 403);
  assert.match(await push.text(), /does not grant push on alice\/m/);
  const rest = await fetch(`${srv.url}/developer/jobs`, { headers: { authorization: `Bearer ${own.token}` } });
  assert.equal(rest.status, 401);
  assert.match(await rest.text(), /registry token is valid on \/v2\/ only/);
});

test('/token refuses bad credentials (401), another service or a malformed scope (400); expired tokens are refused', async () => {
  const bad = await registryToken(['repository:alice/m:pull'], basic('alice', 'abg_not-a-token'));
  assert.equal(bad.status, 401);
  assert.match(await bad.text(), /token is not valid/);
  const stranger = await registryToken(['repository:alice/m:pull'], basic('bob', alice));
  assert.equal(stranger.status, 401);
  assert.match(await stranger.text(), /belongs to alice, not bob/);
  const service = await fetch(`${srv.url}/token?service=elsewhere&scope=repository:alice/m:pull`);
  assert.equal(service.status, 400);
  assert.match(
    ((await service.json()) as { errors: { message: string }[] }).errors[0]!.message,
    /service must be "aibomgen"/,
  );
  for (const scope of ['repository:alice/m', 'repository:Alice/M:pull', 'repository:alice/m:steal']) {
    const res = await registryToken([scope], basic('alice', alice));
    assert.equal(res.status, 400, scope);
    const { errors } = (await res.json()) as { errors: { message: string }[] };
    assert.ok(errors[0]?.message.includes(`"${scope}"`), `${scope}: ${errors[0]?.message}`);
  }
  // Signed with the server's own secret but past its expiry: 401 on /v2/, naming why.
  const secret = Buffer.from(
    (await readFile(join(srv.services.config.keysDir, REGISTRY_TOKEN_KEY_FILE), 'utf8')).trim(),
    'base64url',
  );
  const stale = await new SignJWT({ access: [{ type: 'repository', name: 'alice/m', actions: ['pull', 'push'] }] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('aibomgen')
    .setAudience('aibomgen')
    .setSubject('alice')
    .setIssuedAt(Math.floor(Date.now() / 1000) - 900)
    .setExpirationTime(Math.floor(Date.now() / 1000) - 600)
    .sign(secret);
  const expired = await fetch(`${srv.url}/v2/alice/m/blobs/uploads/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stale}` },
  });
  assert.equal(expired.status, 401);
  const forged = await new SignJWT({ access: [{ type: 'repository', name: 'alice/m', actions: ['push'] }] })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer('aibomgen')
    .setAudience('aibomgen')
    .setSubject('alice')
    .setExpirationTime('5m')
    .sign(Buffer.alloc(32, 7));
  const rejected = await fetch(`${srv.url}/developer/jobs`, { headers: { authorization: `Bearer ${forged}` } });
  assert.equal(rejected.status, 401);
  assert.match(await rejected.text(), /registry token is not valid/);
});

test('POST /token (the OAuth2 password grant some clients use) issues the same grants; a wrong password is 401', async () => {
  const post = (form: Record<string, string>) =>
    fetch(`${srv.url}/token`, { method: 'POST', body: new URLSearchParams(form) });
  const form = {
    grant_type: 'password',
    service: 'aibomgen',
    scope: 'repository:alice/m:pull,push',
    username: 'alice',
  };
  const ok = await grantsOf(await post({ ...form, password: alice }));
  assert.deepEqual(ok.access, [{ type: 'repository', name: 'alice/m', actions: ['pull', 'push'] }]);
  assert.equal((await post({ ...form, password: 'abg_wrong' })).status, 401);
  const refresh = await post({ ...form, grant_type: 'refresh_token', refresh_token: 'x' });
  assert.equal(refresh.status, 400);
  assert.match(((await refresh.json()) as { errors: { message: string }[] }).errors[0]!.message, /grant_type/);
});

test('oras: login with an API token, push to the own namespace, pull back; a wrong token does not log in', async () => {
  const config = join(dir, 'oras');
  const wrong = await cli(
    'oras',
    ['login', '--plain-http', '-u', 'alice', '--password-stdin', srv.hostPort],
    config,
    'abg_wrong',
  );
  assert.notEqual(wrong.code, 0, wrong.out);
  const login = await cli(
    'oras',
    ['login', '--plain-http', '-u', 'alice', '--password-stdin', srv.hostPort],
    config,
    alice,
  );
  assert.equal(login.code, 0, login.out);
  const pushed = await cli('oras', ['push', '--plain-http', `${srv.hostPort}/alice/m:v1`, 'model.bin'], config);
  assert.equal(pushed.code, 0, pushed.out);
  const denied = await cli('oras', ['push', '--plain-http', `${srv.hostPort}/bob/m:v1`, 'model.bin'], config);
  assert.notEqual(denied.code, 0, 'alice writes only under alice/');
  const pulled = await cli(
    'oras',
    ['pull', '--plain-http', '-o', join(dir, 'pulled'), `${srv.hostPort}/alice/m:v1`],
    config,
  );
  assert.equal(pulled.code, 0, pulled.out);
  assert.equal(await readFile(join(dir, 'pulled', 'model.bin'), 'utf8'), payload);
  const anonymous = await cli(
    'oras',
    ['pull', '--plain-http', '-o', join(dir, 'anon'), `${srv.hostPort}/alice/m:v1`],
    join(dir, 'none'),
  );
  assert.equal(anonymous.code, 0, `anonymous pulls stay open: ${anonymous.out}`);
});

test('skopeo: inspect and copy with --creds go through the token flow; a pull-only token cannot write', async () => {
  const none = join(dir, 'skopeo');
  const src = `docker://${srv.hostPort}/alice/m:v1`;
  const inspect = await cli(
    'skopeo',
    ['inspect', '--raw', '--tls-verify=false', '--creds', `alice:${alice}`, src],
    none,
  );
  assert.equal(inspect.code, 0, inspect.out);
  assert.equal(JSON.parse(inspect.out).layers[0].annotations['org.opencontainers.image.title'], 'model.bin');
  const copy = ['copy', '--src-tls-verify=false', '--dest-tls-verify=false', '--src-creds', `alice:${alice}`];
  const copied = await cli(
    'skopeo',
    [...copy, '--dest-creds', `alice:${alice}`, src, `docker://${srv.hostPort}/alice/copy:v1`],
    none,
  );
  assert.equal(copied.code, 0, copied.out);
  const head = await fetch(`${srv.url}/v2/alice/copy/manifests/v1`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${alice}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  assert.equal(head.status, 200);
  const readOnly = await cli(
    'skopeo',
    [...copy, '--dest-creds', `alice:${alicePullOnly}`, src, `docker://${srv.hostPort}/alice/nope:v1`],
    none,
  );
  assert.notEqual(readOnly.code, 0, readOnly.out);
  assert.equal(
    (await fetch(`${srv.url}/v2/alice/nope/tags/list`, { headers: { authorization: `Bearer ${alice}` } })).status,
    404,
  );
});

test('cosign: login with an API token, then sign (the signature lands as a referrer); anonymous signing is refused', async () => {
  const config = join(dir, 'cosign');
  const head = await fetch(`${srv.url}/v2/alice/m/manifests/v1`, {
    method: 'HEAD',
    headers: { authorization: `Bearer ${alice}`, accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const digest = head.headers.get('docker-content-digest');
  assert.ok(digest);
  const ref = `${srv.hostPort}/alice/m@${digest}`;
  assert.equal((await cli('cosign', ['generate-key-pair'], config)).code, 0);
  const sign = [
    'sign',
    '--key',
    'cosign.key',
    '--use-signing-config=false',
    '--tlog-upload=false',
    '--allow-insecure-registry',
    '--yes',
    ref,
  ];
  const refs = async () =>
    ((await (await fetch(`${srv.url}/v2/alice/m/referrers/${digest}`)).json()) as { manifests: unknown[] }).manifests
      .length;
  const anonymous = await cli('cosign', sign, config);
  assert.notEqual(anonymous.code, 0, anonymous.out);
  assert.equal(await refs(), 0);
  const login = await cli('cosign', ['login', srv.hostPort, '-u', 'alice', '-p', alice], config);
  assert.equal(login.code, 0, login.out);
  const signed = await cli('cosign', sign, config);
  assert.equal(signed.code, 0, signed.out);
  assert.ok((await refs()) >= 1, 'the signature is a referrer of the model');
});
