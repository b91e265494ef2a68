/**
 * Who may write where in the registry (auth on), driven with the real oras, skopeo and cosign CLIs: a user
 * pushes under `<owner>/…` (and granted namespaces); the trusted namespace (`models/`) and the inputs the
 * platform publishes beside it are written only by the platform — its own publication still works and
 * verifies; the internal namespace (`aibomgen/`) is closed to users; administrators may do everything.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MediaType } from '../../schema/media-types.ts';
import { PLATFORM, userCaller } from '../../server/identity.ts';
import { RegistryError } from '../../server/registry/errors.ts';
import { tabularForm, waitForState } from '../helpers/jobs.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let srv: TestServer;
let dir: string;

function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      { cwd: dir, env: { ...process.env, HOME: dir, DOCKER_CONFIG: join(dir, 'docker'), ...env } },
      (err, stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: `${stdout}${stderr}` }),
    );
  });
}
const oras = (args: string[]) => run('oras', args);
const bobCreds = ['-u', 'bob', '-p', 'token-of-bob'];
const tags = async (repo: string): Promise<number> =>
  (await fetch(`${srv.url}/v2/${repo}/tags/list`, { headers: { authorization: 'Bearer token-of-root' } })).status;

before(async () => {
  srv = await startTestServer({
    tokens: 'alice:token-of-alice,bob:token-of-bob,root:token-of-root',
    admins: 'root',
    namespaceGrants: 'team=bob|carol',
    runner: 'process',
  });
  dir = await mkdtemp(join(tmpdir(), 'aibomgen-ns-'));
  await writeFile(join(dir, 'model.bin'), 'weights\n');
});
after(async () => {
  await srv?.close();
  await rm(dir, { recursive: true, force: true });
});

test("oras with B's token: B/… and a granted namespace work; models/, datasets/, another owner's and aibomgen/ are DENIED, nothing stored", async () => {
  for (const ok of ['bob/mine:v1', 'team/shared:v1']) {
    const r = await oras(['push', '--plain-http', ...bobCreds, `${srv.hostPort}/${ok}`, 'model.bin']);
    assert.equal(r.code, 0, `${ok}: ${r.out}`);
  }
  for (const refused of [
    'models/evil:v1',
    'datasets/evil:v1',
    'base-models/evil:v1',
    'alice/evil:v1',
    'aibomgen/job-inputs:x',
  ]) {
    const r = await oras(['push', '--plain-http', ...bobCreds, `${srv.hostPort}/${refused}`, 'model.bin']);
    assert.notEqual(r.code, 0, `${refused} was accepted`);
    assert.match(r.out, /DENIED|denied|403/, `${refused}: ${r.out}`);
    assert.equal(await tags(refused.split(':')[0]!), 404, `${refused}: nothing stored`);
  }
  // Anonymous: 401 with a challenge.
  const anon = await fetch(`${srv.url}/v2/bob/mine/blobs/uploads/`, { method: 'POST' });
  assert.equal(anon.status, 401);
  assert.ok(anon.headers.get('www-authenticate'), 'a challenge names the way to log in');
  // Reads of the internal namespace are refused too, even to a logged-in user.
  const internal = await fetch(`${srv.url}/v2/aibomgen/job-inputs/tags/list`, {
    headers: { authorization: 'Bearer token-of-bob' },
  });
  assert.equal(internal.status, 403);
  // Nor does the catalog name it to a user; an administrator sees it.
  const catalog = async (token: string) =>
    (
      (await (await fetch(`${srv.url}/v2/_catalog`, { headers: { authorization: `Bearer ${token}` } })).json()) as {
        repositories: string[];
      }
    ).repositories;
  await srv.services.registry.as(PLATFORM).pushBlob('aibomgen/probe', Buffer.from('x'), 'application/octet-stream');
  await srv.services.registry.putManifest(
    PLATFORM,
    'aibomgen/probe',
    'v1',
    Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MediaType.ociManifest,
        config: {
          mediaType: 'application/octet-stream',
          digest: `sha256:${createHash('sha256').update('x').digest('hex')}`,
          size: 1,
        },
        layers: [],
      }),
    ),
  );
  assert.ok(!(await catalog('token-of-bob')).some((r) => r.startsWith('aibomgen/')), 'the catalog hides aibomgen/');
  assert.ok((await catalog('token-of-root')).includes('aibomgen/probe'));
  // An administrator may write anywhere.
  const admin = await oras([
    'push',
    '--plain-http',
    '-u',
    'root',
    '-p',
    'token-of-root',
    `${srv.hostPort}/elsewhere/x:v1`,
    'model.bin',
  ]);
  assert.equal(admin.code, 0, admin.out);
});

test("skopeo copy and cosign sign with B's token into models/ are denied; the platform's own publication works and verifies", async () => {
  // The platform publishes a real job's model into models/.
  const form = await tabularForm(dir, { epochs: 1, name: 'ns-model', samples: 120 });
  const res = await fetch(`${srv.url}/developer/submit_job_by_model_and_data`, {
    method: 'POST',
    body: form,
    headers: { authorization: 'Bearer token-of-alice' },
  });
  assert.equal(res.status, 202);
  const job = await waitForState(srv.url, ((await res.json()) as { job_id: string }).job_id, undefined, 240_000, {
    authorization: 'Bearer token-of-alice',
  });
  assert.equal(job.status, 'succeeded', job.reason);
  const ref = job.publication!.ref;
  const verified = await fetch(
    `${srv.url}/verifier/verify/${encodeURIComponent(`${job.publication!.repository}:${job.publication!.tag}`)}`,
    { headers: { authorization: 'Bearer token-of-bob' } },
  );
  assert.equal(verified.status, 200, "the platform's publication verifies");

  const skopeo = await run('skopeo', [
    'copy',
    '--src-tls-verify=false',
    '--dest-tls-verify=false',
    '--dest-creds',
    'bob:token-of-bob',
    `docker://${srv.hostPort}/bob/mine:v1`,
    `docker://${srv.hostPort}/models/ns-model:evil`,
  ]);
  assert.notEqual(skopeo.code, 0, skopeo.out);
  assert.match(skopeo.out, /denied|DENIED|403/i);
  const moved = await fetch(`${srv.url}/v2/models/ns-model/manifests/evil`, {
    method: 'HEAD',
    headers: { accept: MediaType.ociManifest },
  });
  assert.equal(moved.status, 404, 'no tag was written');

  assert.equal((await run('cosign', ['generate-key-pair'], { COSIGN_PASSWORD: 'pw' })).code, 0);
  assert.equal((await run('cosign', ['login', srv.hostPort, ...bobCreds])).code, 0);
  const digest = job.publication!.digest;
  const referrers = async () =>
    ((await (await fetch(`${srv.url}/v2/models/ns-model/referrers/${digest}`)).json()) as { manifests: unknown[] })
      .manifests.length;
  const before = await referrers();
  const sign = await run(
    'cosign',
    [
      'sign',
      '--key',
      'cosign.key',
      '--use-signing-config=false',
      '--tlog-upload=false',
      '--allow-insecure-registry',
      '--yes',
      `${ref.split(':').slice(0, -1).join(':')}@${digest}`,
    ],
    { COSIGN_PASSWORD: 'pw' },
  );
  assert.notEqual(sign.code, 0, sign.out);
  assert.match(sign.out, /denied|DENIED|403/i);
  assert.equal(await referrers(), before, "nothing attached to the platform's model");
});

test('the in-process registry applies the same namespace rules to a user identity and lets the platform through', async () => {
  const registry = srv.services.registry;
  await assert.rejects(
    registry.as(userCaller('bob')).pushBlob('models/inproc', Buffer.from('x'), 'application/octet-stream'),
    (e: unknown) => e instanceof RegistryError && e.code === 'DENIED',
  );
  await registry.as(PLATFORM).pushBlob('models/inproc', Buffer.from('x'), 'application/octet-stream');
  await registry.as(userCaller('bob')).pushBlob('bob/inproc', Buffer.from('x'), 'application/octet-stream');
});
