/**
 * /v2/ with AIBOMGEN_TOKENS: push and delete need credentials (`oras -u/-p` and `oras login` send them to the
 * token endpoint, or Basic/Bearer straight to /v2/), pull is open unless AIBOMGEN_ANONYMOUS_PULL=false; refusals
 * are the spec's UNAUTHORIZED with the Bearer challenge of the token flow (realm <server>/token) and store nothing.
 * Driven with the real oras and cosign CLIs. (Before the token flow these asserted a Basic challenge.)
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../helpers/server.ts';

function oras(args: string[], cwd?: string, config = dockerConfig): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    // A private docker config: no credentials from the machine (only this file's `oras login`).
    execFile('oras', args, { cwd, env: { ...process.env, DOCKER_CONFIG: config } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

let open: TestServer;
let closed: TestServer;
let dir: string;
let dockerConfig: string;
const payload = 'weights of an authorised push\n';
const digestOf = (s: string): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

before(async () => {
  open = await startTestServer({ tokens: 'alice:s3cret-1,bob:other-2' });
  closed = await startTestServer({ tokens: 'alice:s3cret-1', anonymousPull: 'false' });
  dir = await mkdtemp(join(tmpdir(), 'aibomgen-regauth-'));
  dockerConfig = join(dir, 'docker');
  await writeFile(join(dir, 'model.bin'), payload);
});
after(async () => {
  await open?.close();
  await closed?.close();
  await rm(dir, { recursive: true, force: true });
});

test('push without credentials is UNAUTHORIZED with the Bearer challenge of the token flow, and stores nothing', async () => {
  const res = await fetch(`${open.url}/v2/alice/m/blobs/uploads/?digest=${digestOf(payload)}`, {
    method: 'POST',
    body: payload,
    headers: { 'content-type': 'application/octet-stream' },
  });
  assert.equal(res.status, 401);
  assert.equal(
    res.headers.get('www-authenticate'),
    `Bearer realm="${open.url}/token",service="aibomgen",scope="repository:alice/m:pull,push"`,
  );
  assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0]?.code, 'UNAUTHORIZED');
  assert.equal((await fetch(`${open.url}/v2/alice/m/blobs/${digestOf(payload)}`, { method: 'HEAD' })).status, 404);
  const pushed = await oras(['push', '--plain-http', `${open.hostPort}/alice/m:v1`, 'model.bin'], dir);
  assert.notEqual(pushed.code, 0, pushed.out);
  const wrong = await oras(
    ['push', '--plain-http', '-u', 'alice', '-p', 'other-2', `${open.hostPort}/alice/m:v1`, 'model.bin'],
    dir,
  );
  assert.notEqual(wrong.code, 0, 'a token is valid only with its own owner name');
  assert.equal((await fetch(`${open.url}/v2/alice/m/tags/list`)).status, 404);
});

test('oras push with -u/-p and after oras login; anonymous oras pull gets the same bytes', async () => {
  const pushed = await oras(
    ['push', '--plain-http', '-u', 'alice', '-p', 's3cret-1', `${open.hostPort}/alice/m:v1`, 'model.bin'],
    dir,
  );
  assert.equal(pushed.code, 0, pushed.out);
  const badLogin = await oras(['login', '--plain-http', '-u', 'bob', '-p', 'wrong', open.hostPort]);
  assert.notEqual(badLogin.code, 0, 'oras login checks the password (the token endpoint refuses it)');
  const login = await oras(['login', '--plain-http', '-u', 'bob', '-p', 'other-2', open.hostPort]);
  assert.equal(login.code, 0, login.out);
  // bob may read alice/ but writes only under bob/ (the namespace rules apply through the token flow too).
  const tagged = await oras(['tag', '--plain-http', `${open.hostPort}/alice/m:v1`, 'v2']);
  assert.notEqual(tagged.code, 0, tagged.out);
  const copied = await oras([
    'cp',
    '--from-plain-http',
    '--to-plain-http',
    `${open.hostPort}/alice/m:v1`,
    `${open.hostPort}/bob/m:v2`,
  ]);
  assert.equal(copied.code, 0, copied.out);
  const anonymous = join(dir, 'anonymous-docker');
  const pulled = await oras(
    ['pull', '--plain-http', '-o', join(dir, 'out'), `${open.hostPort}/bob/m:v2`],
    dir,
    anonymous,
  );
  assert.equal(pulled.code, 0, pulled.out);
  assert.equal(await readFile(join(dir, 'out', 'model.bin'), 'utf8'), payload);
  // Bearer, as the aibomgen CLI and dashboard send: delete needs it too.
  const head = await fetch(`${open.url}/v2/alice/m/manifests/v1`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const digest = head.headers.get('docker-content-digest')!;
  assert.equal((await fetch(`${open.url}/v2/alice/m/manifests/${digest}`, { method: 'DELETE' })).status, 401);
  assert.equal(
    (
      await fetch(`${open.url}/v2/alice/m/manifests/${digest}`, {
        method: 'DELETE',
        headers: { authorization: 'Bearer s3cret-1' },
      })
    ).status,
    202,
  );
});

test('with AIBOMGEN_ANONYMOUS_PULL=false pulls need credentials too, and /v2/ itself asks for them', async () => {
  const pushed = await oras(
    ['push', '--plain-http', '-u', 'alice', '-p', 's3cret-1', `${closed.hostPort}/alice/private:v1`, 'model.bin'],
    dir,
  );
  assert.equal(pushed.code, 0, pushed.out);
  const base = await fetch(`${closed.url}/v2/`);
  assert.equal(base.status, 401);
  assert.equal(base.headers.get('www-authenticate'), `Bearer realm="${closed.url}/token",service="aibomgen"`);
  assert.equal((await fetch(`${closed.url}/v2/_catalog`)).status, 401);
  const anonymous = join(dir, 'anonymous-docker');
  const anon = await oras(
    ['pull', '--plain-http', '-o', join(dir, 'anon'), `${closed.hostPort}/alice/private:v1`],
    dir,
    anonymous,
  );
  assert.notEqual(anon.code, 0, anon.out);
  const authed = await oras([
    'pull',
    '--plain-http',
    '-u',
    'alice',
    '-p',
    's3cret-1',
    '-o',
    join(dir, 'authed'),
    `${closed.hostPort}/alice/private:v1`,
  ]);
  assert.equal(authed.code, 0, authed.out);
  assert.equal(await readFile(join(dir, 'authed', 'model.bin'), 'utf8'), payload);
});

/** cosign with `config` as its docker config: what `cosign login` writes, and the only credentials it reads. */
function cosign(args: string[], cwd: string, config: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'cosign',
      args,
      { cwd, env: { ...process.env, DOCKER_CONFIG: config, COSIGN_PASSWORD: 'pw', HOME: cwd } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}

test('cosign: signing a model needs credentials (cosign login), verifying it does not', async () => {
  const work = await mkdtemp(join(dir, 'cosign-'));
  await writeFile(join(work, 'model.bin'), payload);
  const pushed = await oras(
    ['push', '--plain-http', '-u', 'alice', '-p', 's3cret-1', `${open.hostPort}/alice/signed:v1`, 'model.bin'],
    work,
  );
  assert.equal(pushed.code, 0, pushed.out);
  const head = await fetch(`${open.url}/v2/alice/signed/manifests/v1`, {
    method: 'HEAD',
    headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
  });
  const ref = `${open.hostPort}/alice/signed@${head.headers.get('docker-content-digest')}`;
  const config = join(work, 'docker'); // no login yet (the oras tests above logged in with their own)
  assert.equal((await cosign(['generate-key-pair'], work, config)).code, 0);
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
  const anonymous = await cosign(sign, work, config);
  assert.notEqual(anonymous.code, 0, 'an anonymous signature push is refused');
  assert.match(anonymous.out, /UNAUTHORIZED|401|unauthorized/i, anonymous.out);
  const refs = async () =>
    (
      (await (
        await fetch(`${open.url}/v2/alice/signed/referrers/${head.headers.get('docker-content-digest')}`)
      ).json()) as { manifests: unknown[] }
    ).manifests.length;
  assert.equal(await refs(), 0, 'the refused signature stored nothing');
  const login = await cosign(['login', open.hostPort, '-u', 'alice', '-p', 's3cret-1'], work, config);
  assert.equal(login.code, 0, login.out);
  const signed = await cosign(sign, work, config);
  assert.equal(signed.code, 0, signed.out);
  assert.ok((await refs()) >= 1, 'the signature is a referrer of the model');
  // Verification only pulls: open to anyone here (a fresh docker config, no login).
  const verified = await cosign(
    ['verify', '--key', 'cosign.pub', '--insecure-ignore-tlog', '--allow-insecure-registry', ref],
    work,
    join(work, 'no-login'),
  );
  assert.equal(verified.code, 0, verified.out);
});
